"""Webhook receivers that refuse, hang or answer 500 must not slow the API, and must lose no event.

Each scenario gets a fresh mock (`python -m mocks` on 127.0.0.1, short webhook timeout, fast retry schedule) with
one `patient.created` webhook pointing at a misbehaving receiver (or none, the baseline; or one that
answers 200, the control), then `POST /patient` under the same wrk load as `make bench`.

The mock's circuit breaker (`mocks/webhooks/emit.py`) legitimately changes the retry schedule, and these checks
follow it. While a receiver is down, deliveries are held instead of attempted, so a delivery need not
have used all its retries when the load ends. So a failing receiver stays down for `DEAD_SECONDS` after
the load, and the mock's attempts so far must stay within the breaker's bound (`attempt_bound`: a few
before the circuit opens, then one probe per retry delay, however many events). Then the receiver
recovers (answers 200; the refusing one starts listening) and every delivery must end delivered or out
of retries, as for the healthy receiver. The checks made before the breaker existed still hold, at the
end: every event has its row in `GET /webhook/logs`; every attempt is in `GET /__mock/webhooks/attempts`,
numbered 1..n and agreeing with its row; retries are never early. The receiver must have accepted exactly
the events the mock calls delivered. Last, a receiver that hangs once, answers 500 once and then 200 must
get the event.

What changed with the breaker: `every_delivery_finished` is judged after the recovery, not while the
receiver is down; `delivered_only_when_accepted` compares with what the receiver accepted (it was "none
delivered" for a receiver that never recovered); `dead_receiver_cost_bounded` is new.
"""

from __future__ import annotations

import json
import math
import resource
import statistics
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import servers
from bench.compare import IMPILO_KEY, PATIENT_BODY
from bench.receivers import Hub, Receiver
from bench.wrk import WrkSettings
from bench.wrk import run as run_wrk
from mocks.webhooks.emit import BREAKER_THRESHOLD, MAX_IN_FLIGHT

# "answers 200" is the control: a receiver that works, to tell the cost of delivering at all from the
# cost of failing.
SCENARIOS = ("no webhook", "answers 200", "refused", "hanging", "answers 500")
DEAD_RECEIVERS = ("refused", "hanging", "answers 500")  # the p99 target is theirs; the others compare
BEHAVIOUR: dict[str, str | int] = {"answers 200": 200, "hanging": "hang", "answers 500": 500}
POLL_SECONDS = 0.5
DEAD_SECONDS = 3.0  # how long a failing receiver stays down after the load, before it recovers


def call(method: str, url: str, body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
    """(status, decoded JSON or None) of one request with the Impilo key."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {**IMPILO_KEY, **({"Content-Type": "application/json"} if data else {})}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw, status = response.read(), int(response.status)
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), int(exc.code)
    return status, json.loads(raw) if raw else None


class Mock:
    """One mock server process with the soak's webhook settings."""

    def __init__(self, timeout: float, schedule: tuple[float, ...], log: Path) -> None:
        port = servers.free_port()
        retries = ",".join(f"{s:g}" for s in schedule)
        argv = [
            "env",
            f"WEBHOOK_TIMEOUT={timeout:g}",
            f"WEBHOOK_RETRIES={retries}",
            sys.executable,
            "-m",
            "mocks",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--seed",
            "0",
        ]
        self.root = f"http://127.0.0.1:{port}"
        self.api = f"{self.root}/impilo/api/v3"
        self.running = servers.launch(argv, f"{self.root}/healthz", IMPILO_KEY, log)

    def total(self, path: str) -> int:
        status, page = call("GET", f"{self.api}{path}{'&' if '?' in path else '?'}page=1&size=1")
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
        return int(page["total"])

    def settled_total(self, path: str, quiet: float = 0.5, limit: float = 10.0) -> int:
        """`total(path)` once it stops changing: wrk stops waiting when its time is up, but the creates it
        had sent still complete (and emit their events) after it returns."""
        deadline = time.monotonic() + limit
        last = self.total(path)
        while time.monotonic() < deadline:
            time.sleep(quiet)
            now = self.total(path)
            if now == last:
                return now
            last = now
        return last

    def subscribe(self, url: str) -> int:
        status, hook = call("POST", f"{self.api}/webhook", {"type": "patient.created", "url": url})
        if status != 200:
            raise RuntimeError(f"createWebhook answered {status}: {hook}")
        return int(hook["id"])

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.running.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, in clock ticks (USER_HZ = 100)

    def stop(self) -> None:
        self.running.stop()


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _by_log(attempts: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    by_log: dict[int, list[dict[str, Any]]] = {}
    for attempt in attempts:
        by_log.setdefault(attempt["logId"], []).append(attempt)
    for rows in by_log.values():
        rows.sort(key=lambda a: a["attempt"])
    return by_log


def attempt_bound(elapsed: float, schedule: tuple[float, ...]) -> int:
    """Most network attempts the breaker allows to one dead receiver over `elapsed` seconds: those started
    before it opened (threshold + the in-flight cap), then one probe per retry delay at the shortest."""
    return BREAKER_THRESHOLD + MAX_IN_FLIGHT + 1 + math.ceil(elapsed / min(schedule or (1.0,)))


def finished_count(mock: Mock, schedule: tuple[float, ...]) -> int:
    """Deliveries delivered (the receivers answer 200) or out of retries, from three cheap log queries."""
    out = f"/webhook/logs?retryAttemptsMin={len(schedule)}"
    delivered, exhausted = mock.total("/webhook/logs?lastResponseStatus=200"), mock.total(out)
    return delivered + exhausted - mock.total(f"{out}&lastResponseStatus=200")


def wait_until_finished(mock: Mock, events: int, schedule: tuple[float, ...], limit: float) -> float:
    """Seconds until every delivery is delivered or out of retries (or `limit` passed)."""
    started = time.monotonic()
    while finished_count(mock, schedule) < events and time.monotonic() - started < limit:
        time.sleep(POLL_SECONDS)
    return round(time.monotonic() - started, 1)


def audit(mock: Mock, events: int, schedule: tuple[float, ...], receiver: Receiver | None) -> dict[str, Any]:
    """Once the deliveries have settled: each event has its log row (`GET /webhook/logs`), each attempt its
    entry (`/__mock/webhooks/attempts`), both agree, and the mock calls delivered exactly what the
    receiver accepted."""
    tries = 1 + len(schedule)
    _, attempts = call("GET", f"{mock.root}/__mock/webhooks/attempts", timeout=120)
    by_log = _by_log(attempts)
    _, state = call("GET", f"{mock.root}/__mock/state", timeout=120)
    rows = {row["id"]: row for row in state["impilo"]["webhook_logs"]}
    delivered = [key for key, row in rows.items() if row["delivered"]]
    finished = sum(r[-1]["error"] is None or r[-1]["attempt"] >= tries for r in by_log.values())
    mismatched = [
        key
        for key, row in rows.items()
        if key not in by_log
        or row["retryAttempts"] != len(by_log[key]) - 1
        or row["lastResponseStatus"] != (by_log[key][-1]["status"] or 0)
        or row["delivered"] != (by_log[key][-1]["error"] is None)
    ]
    off_schedule = 0
    for log_attempts in by_log.values():
        times = [_stamp(a["at"]) for a in log_attempts]
        off_schedule += any(b - a < d - 0.01 for a, b, d in zip(times, times[1:], schedule, strict=False))
    accepted = [event["id"] for event in receiver.events] if receiver is not None else []
    delivered_ids = sorted(json.loads(rows[key]["payload"])["id"] for key in delivered)
    checks = {
        "every_event_logged": mock.total("/webhook/logs") == events == len(rows),
        "every_delivery_finished": finished == events,
        "every_attempt_listed": len(by_log) == events
        and all([a["attempt"] for a in r] == list(range(1, len(r) + 1)) for r in by_log.values())
        and all(r[-1]["error"] is None or len(r) == tries for r in by_log.values()),
        "log_rows_match_attempts": not mismatched,
        "log_filter_counts_undelivered": mock.total(f"/webhook/logs?retryAttemptsMin={len(schedule)}")
        == sum(1 for r in by_log.values() if len(r) == tries),
        "delivered_only_when_accepted": delivered_ids == sorted(accepted),
        "retries_on_schedule": off_schedule == 0,
    }
    return {
        "events": events,
        "delivered": len(delivered),
        "finished": finished,
        "attempts": len(attempts),
        "attempts_per_delivery": dict(sorted(Counter(len(r) for r in by_log.values()).items())),
        "attempt_errors": dict(Counter(str(a["error"]).split(":")[0] for a in attempts)),
        "log_rows_not_matching_attempts": mismatched[:5],
        "deliveries_off_schedule": off_schedule,
        "checks": checks,
        "ok": all(checks.values()),
    }


def while_dead(mock: Mock, started: float, schedule: tuple[float, ...]) -> dict[str, Any]:
    """The attempts a dead receiver has cost so far, against the breaker's bound."""
    _, attempts = call("GET", f"{mock.root}/__mock/webhooks/attempts", timeout=120)
    elapsed = time.monotonic() - started
    bound = attempt_bound(elapsed, schedule)
    return {"seconds": round(elapsed, 1), "attempts": len(attempts), "bound": bound, "ok": len(attempts) <= bound}


def scenario_run(
    scenario: str, hub: Hub, settings: WrkSettings, timeout: float, schedule: tuple[float, ...], logs: Path
) -> dict[str, Any]:
    mock = Mock(timeout, schedule, logs / "soak-mock.log")
    try:
        seeded = mock.total("/patient")
        receiver = None
        if scenario == "refused":
            receiver = hub.add_refusing(scenario)
        elif scenario != "no webhook":
            receiver = hub.add(scenario, BEHAVIOUR[scenario])
        if receiver is not None:
            mock.subscribe(receiver.url)
        print(f"  {scenario:<12} POST /patient: warm-up {settings.warmup}, then {settings.duration}", flush=True)
        started = time.monotonic()
        run_wrk(f"{mock.api}/patient", settings, IMPILO_KEY, PATIENT_BODY, duration=settings.warmup)
        cpu, ours = mock.cpu_seconds(), _own_cpu_seconds()
        result = run_wrk(f"{mock.api}/patient", settings, IMPILO_KEY, PATIENT_BODY).as_dict()
        result["mock_cpu_seconds"] = round(mock.cpu_seconds() - cpu, 2)
        result["receivers_cpu_seconds"] = round(_own_cpu_seconds() - ours, 2)  # this process: the receivers
        events = mock.settled_total("/patient") - seeded
        result["patients_created"] = events
        if receiver is not None:
            if scenario != "answers 200":
                time.sleep(DEAD_SECONDS)
                result["while_dead"] = while_dead(mock, started, schedule)
                if scenario == "refused":
                    hub.recover_refusing(receiver)
                else:
                    receiver.recover()
            limit = 60 + (1 + len(schedule)) * timeout + sum(schedule) + events / 100
            result["seconds_to_settle"] = wait_until_finished(mock, events, schedule, limit)
            result["audit"] = audit(mock, events, schedule, receiver)
            if "while_dead" in result:
                result["audit"]["checks"]["dead_receiver_cost_bounded"] = result["while_dead"]["ok"]
                result["audit"]["ok"] = all(result["audit"]["checks"].values())
            result["receiver"] = receiver.summary()
        return result
    finally:
        mock.stop()


def recovery(hub: Hub, timeout: float, schedule: tuple[float, ...], logs: Path) -> dict[str, Any]:
    """A receiver that hangs past the timeout once, answers 500 once, then 200: it gets the event."""
    mock = Mock(timeout, schedule, logs / "soak-mock.log")
    try:
        receiver = hub.add("recovers", 200, ["hang", 500])
        mock.subscribe(receiver.url)
        status, patient = call("POST", f"{mock.api}/patient", json.loads(PATIENT_BODY))
        deadline = time.monotonic() + 30 + 3 * timeout + sum(schedule)
        while time.monotonic() < deadline and not receiver.bodies:
            time.sleep(0.1)
        time.sleep(POLL_SECONDS)  # let the mock record the successful attempt
        _, page = call("GET", f"{mock.api}/webhook/logs?page=1&size=15")
        _, attempts = call("GET", f"{mock.root}/__mock/webhooks/attempts")
        log = page["content"][0] if page["content"] else {}
        event = receiver.events[0] if receiver.events else {}
        checks = {
            "patient_created": status == 201,
            "event_received_once": len(receiver.events) == 1,
            "event_is_the_logged_one": bool(log) and json.loads(log["payload"])["id"] == event.get("id"),
            "event_carries_the_patient": event.get("payload", {}).get("id") == (patient or {}).get("id"),
            "log_shows_success_after_retries": log.get("lastResponseStatus") == 200 and log.get("retryAttempts") == 2,
            "attempts_listed": [(a["status"], str(a["error"]).split(":")[0]) for a in attempts]
            == [(None, "timeout"), (500, "HTTP 500"), (200, "None")],
        }
        return {
            "receiver": receiver.summary(),
            "log": log,
            "attempts": attempts,
            "checks": checks,
            "ok": all(checks.values()),
        }
    finally:
        mock.stop()


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median req/s and latency percentiles over rounds; every round kept."""
    keys = runs[0]["latency_ms"].keys()
    return {
        "requests_per_second": round(statistics.median(r["requests_per_second"] for r in runs), 1),
        "latency_ms": {k: round(statistics.median(r["latency_ms"][k] for r in runs), 2) for k in keys},
        "errors": sum(r["errors"] for r in runs),
        "mock_cpu_seconds": round(statistics.median(r["mock_cpu_seconds"] for r in runs), 2),
        "receivers_cpu_seconds": round(statistics.median(r["receivers_cpu_seconds"] for r in runs), 2),
        "rounds": runs,
    }


def measure(
    hub: Hub,
    settings: WrkSettings,
    timeout: float,
    schedule: tuple[float, ...],
    rounds: int,
    logs: Path,
    p99_target: float = 1.2,
) -> dict[str, Any]:
    """Every scenario once per round (order reversed each round), then the recovery check."""
    measured: dict[str, list[dict[str, Any]]] = {s: [] for s in SCENARIOS}
    for round_ in range(max(1, rounds)):
        for scenario in SCENARIOS if round_ % 2 == 0 else SCENARIOS[::-1]:
            measured[scenario].append(scenario_run(scenario, hub, settings, timeout, schedule, logs))
    table = {s: summary(runs) for s, runs in measured.items()}
    base = table["no webhook"]["latency_ms"]["p99"]
    for row in table.values():
        row["p99_ratio"] = round(row["latency_ms"]["p99"] / base, 2) if base else None
        row["p99_within_target"] = row["p99_ratio"] is not None and row["p99_ratio"] <= p99_target
    audits = {s: [r["audit"] for r in runs] for s, runs in measured.items() if s != "no webhook"}
    return {
        "settings": {
            "wrk_argv": settings.argv(),
            "warmup": settings.warmup,
            "rounds": rounds,
            "webhook_timeout_seconds": timeout,
            "webhook_retry_schedule": list(schedule),
            "p99_target_ratio": p99_target,
        },
        "scenarios": table,
        "no_event_lost": all(a["ok"] for runs in audits.values() for a in runs),
        "recovery": recovery(hub, timeout, schedule, logs),
    }
