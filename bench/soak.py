"""`python -m bench.soak` (`make soak`): robustness over long runs; writes reports/soak.json.

1. Negative fuzzing, in-process: at least `--cases` invalid requests per API; no 5xx, and the stored data
   changes only where accepted (2xx) calls changed it (`bench.fuzz`, `bench.ledger`).
2. Webhooks: `POST /patient` under wrk with a `patient.created` webhook to a receiver that refuses,
   hangs past the timeout or answers 500, against no webhook; every failed attempt logged with its
   retries, and a receiver that recovers gets the event (`bench.webhook_soak`).

Exits 1 when a hard property fails (a 5xx, data changed without an accepted call, a webhook event lost or
misreported), 2 when it cannot run; the p99 figures are measurements and only reported.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import fuzz, report, webhook_soak
from bench.receivers import running_hub
from bench.wrk import add_wrk_arguments, settings_from

APIS = ("impilo", "heidi", "legit_health")


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(",") if part.strip())


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def fuzz_table(results: dict[str, Any]) -> str:
    rows = [
        "| API | cases | rounds | 2xx | 4xx | 5xx | other failed checks | records changed / added | intact "
        "| reads back |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for api, r in results.items():
        statuses = {int(k): v for k, v in r["statuses"].items()}
        ok2 = sum(v for k, v in statuses.items() if 200 <= k < 300)
        ok4 = sum(v for k, v in statuses.items() if 400 <= k < 500)
        others = len([f for f in r["failures"] if f["check"] != "not_a_server_error"])
        changed = sum(c["changed"] + c["deleted"] for c in r["data"]["collections"].values())
        added = sum(c["added"] for c in r["data"]["collections"].values())
        intact = "yes" if r["data"]["intact"] else f"NO ({r['data']['unexplained']} unexplained)"
        back = "yes" if r["readback"]["ok"] else f"NO {r['readback']['statuses']}"
        rows.append(
            f"| {api} | {r['cases']:,} | {len(r['rounds'])} | {ok2:,} | {ok4:,} | {r['server_errors']} | "
            f"{others} | {changed} / {added} | {intact} | {back} ({r['readback']['requests']}) |"
        )
    return "\n".join(rows)


def fuzz_notes(results: dict[str, Any]) -> list[str]:
    """One line per distinct failed check (with the seeds that found it) and per collection whose
    records changed without an accepted call."""
    lines: list[str] = []
    for api, r in results.items():
        seeds: dict[tuple[str, str, str], list[str]] = {}
        for f in r["failures"]:
            seeds.setdefault((f["operation"], f["check"], f["title"]), []).append(f["seed"])
        for (operation, check, title), found in seeds.items():
            lines.append(f"  {api}: {operation} [{check}] {title} (seeds {', '.join(found)})")
        for name, c in r["data"]["collections"].items():
            for kind, keys in c["unexplained"].items():
                if keys:
                    lines.append(f"  {api}: {name} {kind} with no accepted call: ids {', '.join(keys)}")
        lines += [f"  {api}: 5xx {curl}" for curl in r["server_error_samples"]]
        lines += [f"  {api}: record does not read back: {line}" for line in r["readback"]["not_ok"]]
    return lines


def webhook_table(result: dict[str, Any]) -> str:
    target = result["settings"]["p99_target_ratio"]
    rows = [
        f"| POST /patient, webhook receiver | req/s | p50 ms | p99 ms | p99 / no webhook (target <= {target:g}x) |"
        " wrk errors | CPU s mock / receivers | events: all logged, retried, listed |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for name, row in result["scenarios"].items():
        verdict = "" if name not in webhook_soak.DEAD_RECEIVERS else (" pass" if row["p99_within_target"] else " FAIL")
        audits = [r["audit"] for r in row["rounds"] if "audit" in r]
        events = " + ".join(f"{a['events']}: {'ok' if a['ok'] else 'NOT OK'}" for a in audits) or "-"
        rows.append(
            f"| {name} | {row['requests_per_second']:.0f} | {row['latency_ms']['p50']:.1f} | "
            f"{row['latency_ms']['p99']:.1f} | {row['p99_ratio']:.2f}x{verdict} | {row['errors']} | "
            f"{row['mock_cpu_seconds']:.1f} / {row['receivers_cpu_seconds']:.1f} | {events} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("fuzz", "webhooks"), help="run one part (default: both)")
    parser.add_argument("--apis", default=",".join(APIS), help="APIs to fuzz (default: all three)")
    parser.add_argument("--cases", type=int, default=5000, help="negative cases per API, at least (default 5000)")
    parser.add_argument("--examples", type=int, default=100, help="Schemathesis max-examples per round")
    parser.add_argument("--seed", type=int, default=20261121, help="seed of the first round; +1 per round")
    parser.add_argument("--max-rounds", type=int, default=12, help="rounds per API at most")
    parser.add_argument("--fuzz-seconds", type=float, default=150.0, help="no new round after this, per API")
    # Three rounds, so the p99 kept is a true median: one run's p99 moves by up to ~20% on a 2-core VM.
    add_wrk_arguments(parser, "runs per webhook scenario, order reversed each (median)", rounds=3)
    parser.add_argument("--webhook-timeout", type=float, default=2.0, help="WEBHOOK_TIMEOUT of the mock, s")
    parser.add_argument("--webhook-retries", default="0.2,0.5,1", help="WEBHOOK_RETRIES of the mock, s")
    parser.add_argument("--p99-target", type=float, default=1.2, help="p99 / no-webhook p99 to call a pass")
    parser.add_argument("--out", type=Path, default=Path("reports/soak.json"))
    args = parser.parse_args(argv)

    if args.only != "fuzz" and shutil.which("wrk") is None:
        print("error: wrk is not installed; `make soak` installs it (apt-get install -y wrk, as root)", file=sys.stderr)
        return 2
    sections: dict[str, Any] = {
        "generated_at": report.now(),
        "command": " ".join(["python -m bench.soak", *(argv if argv is not None else sys.argv[1:])]),
        "machine": report.machine(),
        "versions": {**report.versions(None), **{p: _version(p) for p in ("schemathesis", "hypothesis", "httpx")}},
    }
    hard: dict[str, bool] = {}
    summary: list[str] = []
    if args.only != "webhooks":
        print(f"Negative fuzzing, in-process: at least {args.cases:,} cases per API", flush=True)
        results = {}
        for api in (a.strip() for a in args.apis.split(",") if a.strip()):
            results[api] = fuzz.fuzz_api(api, args.cases, args.examples, args.seed, args.max_rounds, args.fuzz_seconds)
            hard |= {f"fuzz.{api}.{name}": ok for name, ok in results[api]["checks"].items()}
        sections["fuzz"] = results
        summary += ["", fuzz_table(results)]
        summary += fuzz_notes(results)
        print("\n".join(summary), flush=True)
    if args.only != "fuzz":
        # The receivers run in this process: what the fuzzing left behind must not lengthen its collections.
        gc.collect()
        gc.freeze()
        settings = settings_from(args)
        schedule = _floats(args.webhook_retries)
        mock_env = f"WEBHOOK_TIMEOUT={args.webhook_timeout:g} WEBHOOK_RETRIES={args.webhook_retries}"
        print(
            f"\nWebhooks: {' '.join(settings.argv())}, {settings.warmup} warm-up; a fresh mock per run with {mock_env}",
            flush=True,
        )
        with running_hub() as hub:
            result = webhook_soak.measure(
                hub,
                settings,
                args.webhook_timeout,
                schedule,
                args.rounds,
                args.out.parent / "soak-logs",
                args.p99_target,
            )
        sections["webhooks"] = result
        hard["webhooks.no_event_lost"] = result["no_event_lost"]
        hard["webhooks.recovering_receiver_gets_the_event"] = result["recovery"]["ok"]
        recovery = result["recovery"]["checks"]
        lines = [
            "",
            webhook_table(result),
            f"recovering receiver (hangs, 500, then 200): {'ok' if result['recovery']['ok'] else 'FAILED'} "
            f"{'' if result['recovery']['ok'] else {k: v for k, v in recovery.items() if not v}}",
        ]
        summary += lines
        print("\n".join(lines), flush=True)
    sections["load_average_at_end"] = list(os.getloadavg())
    failed = sorted(name for name, ok in hard.items() if not ok)
    sections["hard_properties"] = hard
    sections["failed"] = failed
    report.write(args.out, sections)
    print(f"\nhard properties: {len(hard) - len(failed)}/{len(hard)} hold" + (f"; FAILED: {failed}" if failed else ""))
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
