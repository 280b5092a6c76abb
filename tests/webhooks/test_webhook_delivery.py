"""Webhook delivery off the API's loop: failed attempts logged with their retries, a circuit breaker per
receiver that holds deliveries while it is down and sends them all when it recovers, and API answers that
never wait for a receiver. Real receivers on 127.0.0.1; no timing thresholds."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mocks import context_of
from mocks.state.store import Key
from mocks.webhooks.emit import BREAKER_THRESHOLD
from tests.support.examples import PATIENT_MINIMAL
from tests.support.helpers import IMPILO_KEY, base, free_port, state, wait_until
from tests.support.receiver import Receiver
from tests.support.webhooks import attempts, dispatcher, logs

B = base("impilo")


def subscribe(client: TestClient, url: str) -> None:
    response = client.post(f"{B}/webhook", json={"type": "patient.created", "url": url}, headers=IMPILO_KEY)
    assert response.status_code == 200


def create_patients(client: TestClient, count: int) -> list[int]:
    ids = []
    for n in range(count):
        response = client.post(f"{B}/patient", json={**PATIENT_MINIMAL, "lastName": f"P{n}"}, headers=IMPILO_KEY)
        assert response.status_code == 201
        ids.append(response.json()["id"])
    return ids


def delivered(client: TestClient) -> list[bool]:
    """The stored rows' `delivered` flags (not a field of the vendor's WebhookLog)."""
    return [row["delivered"] for row in state(client, "impilo")["webhook_logs"]]


def test_webhook_refused_receiver_has_every_attempt_logged_with_its_retries(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(webhook_retry_schedule=(0.05, 0.1))
    subscribe(client, f"http://127.0.0.1:{free_port()}/nobody")
    create_patients(client, 1)
    done = wait_until(lambda: len(attempts(client)) == 3 and not dispatcher(client).unfinished)
    assert done, attempts(client)
    [row] = logs(client)
    listed = attempts(client)
    assert [a["attempt"] for a in listed] == [1, 2, 3]
    assert all(a["status"] is None and a["error"].startswith("connection failed") for a in listed)
    assert (row["retryAttempts"], row["lastResponseStatus"]) == (2, 0)
    assert row["lastRetryTimestamp"] == listed[-1]["at"]


def test_webhook_circuit_opens_after_consecutive_failures_and_stops_network_attempts(
    make_client: Callable[..., TestClient], receiver: Receiver
) -> None:
    client = make_client(webhook_retry_schedule=(30.0,))  # no retry or probe falls due during the test
    dispatcher(client).max_in_flight = 1  # one at a time, so exactly the threshold fails before it opens
    receiver.statuses = [500] * 100
    subscribe(client, receiver.url)
    create_patients(client, BREAKER_THRESHOLD + 10)
    assert receiver.wait_for_arrivals(BREAKER_THRESHOLD) == BREAKER_THRESHOLD
    create_patients(client, 5)  # more events while the circuit is open
    failed = wait_until(lambda: len(attempts(client)) == BREAKER_THRESHOLD)
    assert receiver.wait_for_arrivals(BREAKER_THRESHOLD + 1, timeout=0.5) == BREAKER_THRESHOLD
    rows = [r for r in logs(client) if r["lastResponseStatus"] is not None]
    assert failed and len(attempts(client)) == BREAKER_THRESHOLD
    assert len(rows) == BREAKER_THRESHOLD and all(r["lastResponseStatus"] == 500 for r in rows)
    held = [r for r in logs(client) if r["lastResponseStatus"] is None]
    assert len(held) == 15 and not any(r["retryAttempts"] or r["lastRetryTimestamp"] for r in held)
    assert not any(delivered(client))
    assert dispatcher(client).unfinished == BREAKER_THRESHOLD + 15  # held, not lost


def test_webhook_receiver_that_recovers_gets_every_held_event_once(
    make_client: Callable[..., TestClient], receiver: Receiver
) -> None:
    client = make_client(webhook_retry_schedule=(0.1, 0.2, 0.4))
    dispatcher(client).max_in_flight = 1
    receiver.statuses = [500] * BREAKER_THRESHOLD  # down long enough to open the circuit, then up
    subscribe(client, receiver.url)
    patient_ids = create_patients(client, 20)
    asyncio.run(dispatcher(client).drain(timeout=10))
    rows = logs(client)
    received = [d["body"] for d in receiver.deliveries if d["answered"] == 200]
    assert sorted(event["payload"]["id"] for event in received) == patient_ids
    assert len({event["id"] for event in received}) == 20
    assert all(row["lastResponseStatus"] == 200 for row in rows) and all(delivered(client))
    assert sum(row["retryAttempts"] for row in rows) == BREAKER_THRESHOLD  # each failed attempt, retried
    assert len(attempts(client)) == 20 + BREAKER_THRESHOLD


def test_webhook_hanging_receiver_does_not_hold_up_the_api_response(
    make_client: Callable[..., TestClient], receiver: Receiver
) -> None:
    client = make_client(webhook_timeout_seconds=30.0)
    receiver.release.clear()  # the receiver holds every request until released
    subscribe(client, receiver.url)
    create_patients(client, 1)
    assert receiver.wait_for_arrivals(1) == 1  # a delivery is now hanging
    after = client.post(f"{B}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY)
    listed = client.get(f"{B}/patient", params={"size": 1}, headers=IMPILO_KEY)
    assert (after.status_code, listed.status_code) == (201, 200)
    assert receiver.deliveries == [] and not any(delivered(client))
    receiver.release.set()
    assert len(receiver.wait_for(2)) == 2


def test_webhook_deliveries_are_logged_in_the_state_file(
    make_client: Callable[..., TestClient], receiver: Receiver, tmp_path: Path
) -> None:
    client = make_client(state_file=str(tmp_path / "state.sqlite3"), webhook_retry_schedule=(0.05,))
    receiver.statuses = [503]
    subscribe(client, receiver.url)
    create_patients(client, 1)
    asyncio.run(dispatcher(client).drain(timeout=10))
    [row] = logs(client)
    assert (row["retryAttempts"], row["lastResponseStatus"], delivered(client)) == (1, 200, [True])
    assert [a["status"] for a in attempts(client)] == [503, 200]


def test_webhook_delivery_is_sent_when_the_thread_takes_it_before_the_emitting_transaction_commits(
    make_client: Callable[..., TestClient], receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(state_file=str(tmp_path / "state.sqlite3"))
    subscribe(client, receiver.url)
    emitter, taken = dispatcher(client), threading.Event()
    take = emitter.take

    def noted() -> dict[str, list[Key]]:
        handed = take()
        if handed:
            taken.set()
        return handed

    monkeypatch.setattr(emitter, "take", noted)
    with context_of(client.app).store.lock:  # the API's transaction, still open when the thread takes it
        emitter.emit("patient.created", {"id": 1})
        assert taken.wait(10)
    assert receiver.wait_for_arrivals(1) == 1
    asyncio.run(emitter.drain(timeout=10))
    assert [(a["attempt"], a["status"]) for a in attempts(client)] == [(1, 200)]


def test_webhook_deliveries_of_the_old_state_are_dropped_on_reset(
    make_client: Callable[..., TestClient], receiver: Receiver
) -> None:
    client = make_client(webhook_retry_schedule=(0.2,))
    receiver.statuses = [500]
    subscribe(client, receiver.url)
    create_patients(client, 1)
    assert receiver.wait_for_arrivals(1) == 1
    assert client.post("/__mock/reset").status_code == 200
    asyncio.run(dispatcher(client).drain(timeout=10))
    assert receiver.arrived == 1  # the retry was not sent
    assert logs(client) == [] and attempts(client) == []
