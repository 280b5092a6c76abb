"""`python -m specs --bundle | --validate`: resolve each spec into build/ or just validate them."""

from __future__ import annotations

import argparse
import sys

from specs import APIS, bundle, write


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m specs", description=__doc__)
    parser.add_argument("--bundle", action="store_true", help="write build/<api>.json for every API")
    parser.add_argument("--validate", action="store_true", help="validate every spec, write nothing")
    args = parser.parse_args(argv)
    failed = False
    for api in APIS:
        try:
            document = bundle(api)
        except Exception as exc:  # prance and the validator raise many types; report them all the same way
            print(f"{api}: INVALID: {exc}", file=sys.stderr)
            failed = True
            continue
        if args.bundle:
            print(f"{api}: {write(api, document)}")
        else:
            print(f"{api}: valid ({len(document.get('paths', {}))} paths)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
