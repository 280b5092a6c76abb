"""`python -m bench.soak` (`make soak`): robustness over long runs; writes reports/soak.json.

Stages, in this order (`--only a,b` runs some of them; `--quick` makes each take seconds to a minute or
two instead of minutes):
1. `fuzz`: negative fuzzing, in-process: at least `--cases` invalid requests per API; no 5xx, and the
   stored data changes only where accepted (2xx) calls changed it (`bench.fuzz`, `bench.ledger`).
2. `formats`: positive fuzzing with odd-but-valid `email`/`uri`/`date-time`/`date`/`uuid` values; no
   5xx, and every record and every list page reads back (`bench.formats`).
3. `hostile`: NaN, lone surrogates, 1,000/5,000-deep nesting, 5,000-digit integers and 600 KB arrays in
   every JSON body, 5,000-digit ids, `Prefer: code=`, `?__code=` and journal `limit`, with and without
   credentials; no 5xx, small answers, the server still answers (`bench.hostile`).
4. `readback`: every list page of every API, `/__mock/state`, `/__mock/requests` and the other admin
   routes of each app the stages above fuzzed: 200 and strict JSON (`bench.readback`). Alone, it reads
   back a freshly seeded mock.
5. `slow`: 2,200 clients stall their request bodies on a served mock with `BODY_TIMEOUT`; `/healthz` and
   an authenticated GET keep answering, the stalled ones are closed in time (`bench.slowclients`).
6. `webhooks`: `POST /patient` under wrk with a `patient.created` webhook to a receiver that refuses,
   hangs past the timeout or answers 500, against no webhook; every failed attempt logged with its
   retries, and a receiver that recovers gets the event (`bench.webhook_soak`).

Exits 1 when a hard property fails (a 5xx, data changed without an accepted call, a record or page that
does not read back, an unbounded answer, a stalled client left open, a webhook event lost or
misreported), 2 when it cannot run; the p99 figures and durations are measurements and only reported.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import specs
from bench import formats, fuzz, hostile, readback, report, slowclients, webhook_soak
from bench.receivers import running_hub
from bench.wrk import add_wrk_arguments, settings_from

APIS = specs.APIS
STAGES = ("fuzz", "formats", "hostile", "readback", "slow", "webhooks")
# `--quick`: every stage in seconds to a minute or two (arguments given on the command line still win)
QUICK = {
    "cases": 100,
    "examples": 5,
    "max_rounds": 1,
    "fuzz_seconds": 30.0,
    "format_cases": 100,
    "format_examples": 5,
    "format_rounds": 1,
    "format_seconds": 30.0,
    "hostile_seconds": 45.0,
    "body_timeout": 2.0,
    "slow_grace": 3.0,
    "rounds": 1,
    "duration": "3s",
    "warmup": "1s",
}


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(part) for part in text.split(",") if part.strip())


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def stages_of(text: str) -> tuple[str, ...]:
    """`--only fuzz,readback` -> ("fuzz", "readback"), in STAGES order; ValueError naming an unknown one."""
    wanted = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(wanted - set(STAGES))
    if unknown:
        raise ValueError(f"unknown stage {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    return tuple(stage for stage in STAGES if stage in wanted)


def fuzz_table(results: dict[str, Any]) -> str:
    lists = any("lists" in r for r in results.values())
    rows = [
        "| API | cases | rounds | 2xx | 4xx | 5xx | other failed checks | records changed / added | intact "
        "| reads back |" + (" list pages read back |" if lists else ""),
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|" + ("---|" if lists else ""),
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
        pages = ""
        if "lists" in r:
            pages = (
                f" {'yes' if r['lists']['ok'] else 'NO ' + str(r['lists']['statuses'])} ({r['lists']['requests']}) |"
            )
        rows.append(
            f"| {api} | {r['cases']:,} | {len(r['rounds'])} | {ok2:,} | {ok4:,} | {r['server_errors']} | "
            f"{others} | {changed} / {added} | {intact} | {back} ({r['readback']['requests']}) |{pages}"
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
        lines += [f"  {api}: list page does not read back: {line}" for line in r.get("lists", {}).get("not_ok", [])]
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


@dataclass
class Run:
    """What the stages share: the arguments, the apps they fuzzed (for `readback`), and what they found."""

    args: argparse.Namespace
    apps: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, Any] = field(default_factory=dict)
    hard: dict[str, bool] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)

    def apis(self) -> list[str]:
        return [a.strip() for a in self.args.apis.split(",") if a.strip()]

    def show(self, lines: list[str]) -> None:
        self.summary += lines
        print("\n".join(lines), flush=True)


def run_fuzz(run: Run) -> None:
    args = run.args
    print(f"Negative fuzzing, in-process: at least {args.cases:,} cases per API", flush=True)
    results = {}
    for api in run.apis():
        app = run.apps[f"fuzz.{api}"] = _fresh_app()
        results[api] = fuzz.fuzz_api(
            api, args.cases, args.examples, args.seed, args.max_rounds, args.fuzz_seconds, app=app
        )
        run.hard |= {f"fuzz.{api}.{name}": ok for name, ok in results[api]["checks"].items()}
    run.sections["fuzz"] = results
    run.show(["", fuzz_table(results), *fuzz_notes(results)])


def run_formats(run: Run) -> None:
    args = run.args
    print(f"\nPositive fuzzing with odd-but-valid formats, in-process: at least {args.format_cases:,} cases per API")
    results = {}
    for api in run.apis():
        app = run.apps[f"formats.{api}"] = _fresh_app()
        results[api] = formats.fuzz_formats(
            api, args.format_cases, args.format_examples, args.seed, args.format_rounds, args.format_seconds, app
        )
        run.hard |= {f"formats.{api}.{name}": ok for name, ok in results[api]["checks"].items()}
    run.sections["formats"] = results
    run.show(["", fuzz_table(results), *fuzz_notes(results)])


def run_hostile(run: Run) -> None:
    print(f"\nHostile bodies and numbers, in-process, within {run.args.hostile_seconds:g} s", flush=True)
    app = run.apps["hostile"] = _fresh_app()
    result = hostile.attack(app, run.args.hostile_seconds)
    run.sections["hostile"] = result
    run.hard |= {f"hostile.{name}": ok for name, ok in result["checks"].items()}
    run.show(["", hostile.table(result), *hostile.notes(result)])


def run_readback(run: Run) -> None:
    if not run.apps:
        run.apps["fresh"] = _fresh_app()
    print(f"\nRead-back of every list page and admin route: {', '.join(run.apps)}", flush=True)
    results = {label: readback.read_back(app) for label, app in run.apps.items()}
    for label, result in results.items():
        run.hard |= {f"readback.{label}.{name}": ok for name, ok in result["checks"].items()}
    run.sections["readback"] = results
    run.show(["", readback.table(results), *readback.notes(results)])


def run_slow(run: Run) -> None:
    args = run.args
    print(
        f"\nSlow clients: {args.slow_clients:,} stalled bodies; a served mock with BODY_TIMEOUT={args.body_timeout:g}"
    )
    result = slowclients.measure(args.slow_clients, args.body_timeout, args.slow_grace, args.out.parent / "soak-logs")
    run.sections["slow_clients"] = result
    run.hard |= {f"slow.{name}": ok for name, ok in result["checks"].items()}
    run.show(["", slowclients.table(result)])


def run_webhooks(run: Run) -> None:
    args = run.args
    # The receivers run in this process: what the fuzzing left behind must not lengthen its collections.
    run.apps.clear()
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
            hub, settings, args.webhook_timeout, schedule, args.rounds, args.out.parent / "soak-logs", args.p99_target
        )
    run.sections["webhooks"] = result
    run.hard["webhooks.no_event_lost"] = result["no_event_lost"]
    run.hard["webhooks.recovering_receiver_gets_the_event"] = result["recovery"]["ok"]
    recovery = result["recovery"]["checks"]
    run.show(
        [
            "",
            webhook_table(result),
            f"recovering receiver (hangs, 500, then 200): {'ok' if result['recovery']['ok'] else 'FAILED'} "
            f"{'' if result['recovery']['ok'] else {k: v for k, v in recovery.items() if not v}}",
        ]
    )


RUNNERS: dict[str, Callable[[Run], None]] = {
    "fuzz": run_fuzz,
    "formats": run_formats,
    "hostile": run_hostile,
    "readback": run_readback,
    "slow": run_slow,
    "webhooks": run_webhooks,
}


def _fresh_app() -> Any:
    from mocks import create_app

    return create_app(seed=0)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(STAGES), help=f"stages to run, comma-separated: {','.join(STAGES)}")
    parser.add_argument("--quick", action="store_true", help="every stage in seconds to a minute or two")
    parser.add_argument("--apis", default=",".join(APIS), help="APIs to fuzz (default: all)")
    parser.add_argument("--cases", type=int, default=5000, help="negative cases per API, at least (default 5000)")
    parser.add_argument("--examples", type=int, default=100, help="Schemathesis max-examples per round")
    parser.add_argument("--seed", type=int, default=20261121, help="seed of the first round; +1 per round")
    parser.add_argument("--max-rounds", type=int, default=12, help="rounds per API at most")
    parser.add_argument("--fuzz-seconds", type=float, default=150.0, help="no new round after this, per API")
    parser.add_argument("--format-cases", type=int, default=2000, help="odd-format positive cases per API, at least")
    parser.add_argument("--format-examples", type=int, default=50, help="max-examples per odd-format round")
    parser.add_argument("--format-rounds", type=int, default=6, help="odd-format rounds per API at most")
    parser.add_argument("--format-seconds", type=float, default=150.0, help="no new odd-format round after this")
    parser.add_argument("--hostile-seconds", type=float, default=600.0, help="time budget of the hostile stage")
    parser.add_argument("--slow-clients", type=int, default=2200, help="stalled clients (default 2200)")
    parser.add_argument("--body-timeout", type=float, default=5.0, help="BODY_TIMEOUT given to the mock, s")
    parser.add_argument("--slow-grace", type=float, default=5.0, help="seconds past BODY_TIMEOUT to close them")
    # Three rounds, so the p99 kept is a true median: one run's p99 moves by up to ~20% on a 2-core VM.
    add_wrk_arguments(parser, "runs per webhook scenario, order reversed each (median)", rounds=3)
    parser.add_argument("--webhook-timeout", type=float, default=2.0, help="WEBHOOK_TIMEOUT of the mock, s")
    parser.add_argument("--webhook-retries", default="0.2,0.5,1", help="WEBHOOK_RETRIES of the mock, s")
    parser.add_argument("--p99-target", type=float, default=1.2, help="p99 / no-webhook p99 to call a pass")
    parser.add_argument("--out", type=Path, default=Path("reports/soak.json"))
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The arguments; with `--quick`, QUICK's values for every one not given on the command line."""
    cli = parser()
    args = cli.parse_args(argv)
    if args.quick:
        cli.set_defaults(**QUICK)
        args = cli.parse_args(argv)
    try:
        args.stages = stages_of(args.only)
    except ValueError as exc:
        cli.error(str(exc))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if "webhooks" in args.stages and shutil.which("wrk") is None:
        print("error: wrk is not installed; `make soak` installs it (apt-get install -y wrk, as root)", file=sys.stderr)
        return 2
    run = Run(args)
    run.sections |= {
        "generated_at": report.now(),
        "command": " ".join(["python -m bench.soak", *(argv if argv is not None else sys.argv[1:])]),
        "stages": list(args.stages),
        "machine": report.machine(),
        "versions": {**report.versions(None), **{p: _version(p) for p in ("schemathesis", "hypothesis", "httpx")}},
    }
    for stage in args.stages:
        RUNNERS[stage](run)
    run.sections["load_average_at_end"] = list(os.getloadavg())
    failed = sorted(name for name, ok in run.hard.items() if not ok)
    run.sections["hard_properties"] = run.hard
    run.sections["failed"] = failed
    report.write(args.out, run.sections)
    hard = run.hard
    print(f"\nhard properties: {len(hard) - len(failed)}/{len(hard)} hold" + (f"; FAILED: {failed}" if failed else ""))
    print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
