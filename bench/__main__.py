"""`python -m bench`: our Impilo mock next to Prism under wrk, then the store-size curve; reports/bench.json."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from bench import compare, report, scale
from bench.wrk import add_wrk_arguments, settings_from


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=("side-by-side", "scale"), help="run one part (default: both)")
    parser.add_argument("--prism", type=Path, default=Path(".tools/prism/node_modules/.bin/prism"))
    add_wrk_arguments(parser, "side-by-side rounds, order reversed each (median)")
    parser.add_argument("--startup-runs", type=int, default=3, help="launches timed per server (median kept)")
    parser.add_argument("--sizes", default="1000,10000,100000", help="stored patients for the scale curve")
    parser.add_argument("--requests", type=int, default=300, help="requests per operation and size (scale)")
    parser.add_argument("--out", type=Path, default=Path("reports/bench.json"))
    parser.add_argument("--state", help="scale curve on this store (a postgresql:// URL; default: in memory)")
    args = parser.parse_args(argv)

    settings = settings_from(args)
    sections: dict[str, Any] = {
        "generated_at": report.now(),
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "machine": report.machine(),
    }
    if args.only != "scale":
        if shutil.which("wrk") is None:
            print(
                "error: wrk is not installed; `make bench` installs it (apt-get install -y wrk, as root)",
                file=sys.stderr,
            )
            return 2
        if not args.prism.exists():
            print(f"error: no Prism at {args.prism}; `make bench` installs it into .tools/prism", file=sys.stderr)
            return 2
    sections["versions"] = report.versions(args.prism if args.prism.exists() else None)
    if args.only != "scale":
        label = " ".join(settings.argv()) + f", {settings.warmup} warm-up per request"
        print(f"Side by side (one server at a time): {label}", flush=True)
        result = compare.side_by_side(
            args.prism, settings, args.startup_runs, args.out.parent / "bench-logs", args.rounds
        )
        sections["side_by_side"] = {"settings": {**vars(settings), "wrk_argv": settings.argv()}, **result}
        print(report.side_by_side_table(result, label), flush=True)
    if args.only != "side-by-side":
        sizes = tuple(int(s) for s in args.sizes.split(",") if s.strip())
        print(f"Scale: {', '.join(f'{s:,}' for s in sizes)} stored Impilo patients", flush=True)
        curve = scale.curve(sizes, args.requests, args.state)
        sections["scale"] = curve
        print(report.scale_table(curve), flush=True)
    sections["load_average_at_end"] = list(os.getloadavg())
    start, end = sections["machine"]["load_average_at_start"][0], sections["load_average_at_end"][0]
    print(f"load average (1 min): {start:.1f} at start, {end:.1f} at end, on {os.cpu_count()} cores")
    report.write(args.out, sections)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
