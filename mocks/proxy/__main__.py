"""`python -m mocks.proxy`: the drift verdict of the validating proxy, as a CI step's exit code.

    python -m mocks.proxy check [--url http://127.0.0.1:8000]
        read `GET /__mock/drift` of a running mock started with UPSTREAM_<API>=... (sending ADMIN_TOKEN if set)
    python -m mocks.proxy run [--port 8000] -- npm test
        start the mock (`python -m mocks`, this environment's UPSTREAM_/MOCKED_/RECORD), run the command with
        MOCK_URL and MOCK_<API>_URL set to the proxy, then read its verdict and stop it

Exit codes: 0 no drift, 1 drift, 2 the upstream could not be checked (unreachable, no request reached it,
no proxy running or configured); `run` exits 3 when the command itself failed (the verdict is still printed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence

import httpx

from mocks.proxy.drift import CANNOT_CHECK
from mocks.vendors import VENDORS

COMMAND_FAILED = 3
START_TIMEOUT = 60.0


def _print(report: dict[str, object]) -> None:
    print(f"proxy: {report['verdict']}; served by {json.dumps(report['servedBy'])}")
    for key, label in (("drift", "drift"), ("requestViolations", "the caller's request")):
        for api, operations in (report.get(key) or {}).items():  # type: ignore[attr-defined]
            for operation, rules in operations.items():
                for rule, seen in rules.items():
                    print(f"  {label}: {api} {operation} {rule} x{seen['count']}: {seen['last']}")


def check(url: str) -> int:
    """Print the verdict of the mock at `url` and return its exit code."""
    try:
        token = os.environ.get("ADMIN_TOKEN")  # a shared mock's admin API asks for it
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.get(f"{url.rstrip('/')}/__mock/drift", headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        print(f"error: no mock answers at {url} ({exc.__class__.__name__}); start it with UPSTREAM_<API>=...",
              file=sys.stderr)  # fmt: skip
        return CANNOT_CHECK
    if response.status_code == 404:
        print(f"error: the mock at {url} proxies nothing: start it with UPSTREAM_<API>=<base URL>", file=sys.stderr)
        return CANNOT_CHECK
    if response.status_code in (401, 403):
        print(f"error: the mock at {url} asks for its admin token: set ADMIN_TOKEN", file=sys.stderr)
        return CANNOT_CHECK
    if response.status_code != 200:
        print(f"error: GET {url}/__mock/drift answered {response.status_code}", file=sys.stderr)
        return CANNOT_CHECK
    report = response.json()
    _print(report)
    return int(report["exitCode"])


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def run(command: Sequence[str], host: str, port_number: int) -> int:
    """Serve the proxy, run `command` against it, then print its verdict; the exit code as documented."""
    if not any(key.startswith("UPSTREAM_") and value for key, value in os.environ.items()):
        print("error: set UPSTREAM_<API>=<base URL> for at least one API (e.g. UPSTREAM_IMPILO)", file=sys.stderr)
        return CANNOT_CHECK
    url = f"http://{host}:{port_number}"
    server = subprocess.Popen([sys.executable, "-m", "mocks", "--host", host, "--port", str(port_number)])
    try:
        if not _wait_until_up(url, server):
            print(f"error: the mock did not start on {url}", file=sys.stderr)
            return CANNOT_CHECK
        environ = {**os.environ, "MOCK_URL": url}
        environ.update({f"MOCK_{api.name.upper()}_URL": f"{url}{api.base_path}" for api in VENDORS})
        failed = subprocess.run(list(command), env=environ, check=False).returncode
        code = check(url)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if failed:
        print(f"error: the command exited {failed}", file=sys.stderr)
        return COMMAND_FAILED
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mocks.proxy", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="action", required=True)
    checking = commands.add_parser("check", help="the verdict of a running mock")
    checking.add_argument("--url", default="http://127.0.0.1:8000", help="the mock (default http://127.0.0.1:8000)")
    running = commands.add_parser("run", help="serve the proxy, run a command against it, give its verdict")
    running.add_argument("--host", default="127.0.0.1")
    running.add_argument("--port", type=int, default=8000)
    running.add_argument("command", nargs="+", help="what sends the traffic, after --")
    args = parser.parse_args(argv)
    if args.action == "check":
        return check(args.url)
    return run(args.command, args.host, args.port)


if __name__ == "__main__":
    raise SystemExit(main())
