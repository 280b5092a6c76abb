"""`STATE=postgresql://...`: the store in a real PostgreSQL server (started by the `postgres_server` fixture),
shared by replicas in separate processes; webhook deliveries taken from a queue in the database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from starlette.testclient import TestClient

from mocks.state.postgres import PostgresStore
from mocks.state.store import MemoryStore, StateError
from tests.support.examples import PATIENT_MINIMAL
from tests.support.helpers import IMPILO_KEY, base, free_port, in_threads, read_back, state, wait_for_health, wait_until
from tests.support.postgres import PostgresServer
from tests.support.receiver import Receiver
from tests.support.webhooks import attempts, dispatcher, logs

IMPILO = base("impilo")
Serve = Callable[..., tuple[subprocess.Popen[bytes], str]]


@pytest.fixture
def database(postgres_server: PostgresServer) -> str:
    return postgres_server.database()


def subscribe(http: TestClient | httpx.Client, url: str) -> None:
    response = http.post(f"{IMPILO}/webhook", json={"type": "patient.created", "url": url}, headers=IMPILO_KEY)
    assert response.status_code == 200


def total_impilo(http: TestClient | httpx.Client) -> int:
    return int(http.get(f"{IMPILO}/patient", headers=IMPILO_KEY).json()["total"])


# --- one process ---


def test_postgres_seed_state_equals_the_in_memory_one_ids_included(
    make_client: Callable[..., TestClient], database: str
) -> None:
    assert state(make_client(seed=7, state_file=database)) == state(make_client(seed=7))


def test_postgres_state_outlives_the_app_and_a_second_app_finds_it_seeded(
    make_client: Callable[..., TestClient], database: str
) -> None:
    first = make_client(state_file=database)
    created = first.post(f"{IMPILO}/patient", json={**PATIENT_MINIMAL, "firstName": "Kept"}, headers=IMPILO_KEY)
    assert created.status_code == 201
    second = make_client(state_file=database)
    read = second.get(f"{IMPILO}/patient/{created.json()['id']}", headers=IMPILO_KEY)
    assert read.status_code == 200 and read.json()["firstName"] == "Kept"
    assert total_impilo(second) == total_impilo(first)


def test_postgres_with_another_seeds_data_is_refused_with_both_seeds_named(
    make_client: Callable[..., TestClient], database: str
) -> None:
    make_client(seed=1, state_file=database)
    with pytest.raises(StateError, match="SEED=1, not of SEED=2"):
        make_client(seed=2, state_file=database)


def test_postgres_unreachable_server_is_refused_with_the_url_and_no_password(tmp_path: Any) -> None:
    url = f"postgresql://mock:secret@/nowhere?host={tmp_path}&port={free_port()}&connect_timeout=2"
    with pytest.raises(StateError) as refused:
        PostgresStore(0, url)
    assert "PostgreSQL cannot be used" in str(refused.value) and "secret" not in str(refused.value)


def test_postgres_records_jsonb_cannot_hold_are_kept_exactly(database: str) -> None:
    store = PostgresStore(0, database)
    try:
        things = store.collection("t", "things", unique=("code",))
        odd = {"id": 1, "nul": "a\x00b", "lone": "\ud800", "big": 2**70, "code": "\ud800x", "order": 1, "a": 2,
               "inf": float("inf")}  # fmt: skip
        things.put(1, odd)
        assert things.get(1) == odd and list(things.get(1) or {}) == list(odd)  # key order too
        assert things.find_unique("code", "\ud800x") == odd
        assert things.page_where({"order": 1}, 0, 10) == (1, [odd])  # found by its other fields
        assert things.page_where({"nul": "a\x00b"}, 0, 10) == (1, [odd])  # and by that one, the slow way
        things.put(2, {"id": 2, "order": 1})
        assert things.page_where({"order": 1}, 1, 10) == (2, [{"id": 2, "order": 1}])
    finally:
        store.close()


@pytest.mark.parametrize("filters", [("archived", "siteId"), ()], ids=["declared-fields", "no-declared-fields"])
def test_postgres_page_where_agrees_with_the_memory_store_after_writes_replaces_and_deletes(
    database: str, filters: tuple[str, ...]
) -> None:
    memory, postgres = MemoryStore(0), PostgresStore(0, database)
    try:
        both = [s.collection("t", "people", filters=filters) for s in (memory, postgres)]
        for people in both:
            for n in range(1, 41):
                people.put(n, {"id": n, "archived": n % 4 == 0, "siteId": n % 3})
            for n in range(1, 41, 5):  # replaced: archived flips, site moves
                people.put(n, {"id": n, "archived": n % 4 != 0, "siteId": (n + 1) % 3})
            for n in (4, 8, 9):
                people.delete(n)
            people.put(41, {"id": 41, "archived": "\x00", "siteId": 1})  # a NUL: kept, not searchable
        asked = [({"archived": True}, 0, 5), ({"archived": False}, 3, 9), ({"siteId": 1}, 0, 50),
                 ({"archived": True, "siteId": 2}, 1, 4), ({"siteId": 7}, 0, 5)]  # fmt: skip
        for equal, start, stop in asked:
            assert both[1].page_where(equal, start, stop) == both[0].page_where(equal, start, stop), equal
    finally:
        postgres.close()


def test_postgres_declared_filter_has_its_own_index_and_counts(database: str) -> None:
    store = PostgresStore(0, database)
    try:
        people = store.collection("t", "people", filters=("archived",))
        for n in range(1, 11):
            people.put(n, {"id": n, "archived": n > 7})
        with store.connection() as db:
            indexes = [row[0] for row in db.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'mock_records'")]
            counts = db.execute("SELECT value, n FROM mock_counts WHERE coll = 't.people' ORDER BY n").fetchall()
        assert any("(data -> 'archived'::text)" in d and "'t.people'" in d for d in indexes), indexes
        assert counts == [(True, 3), (False, 7)]
    finally:
        store.close()


def test_postgres_healthz_reports_the_database_connection(
    make_client: Callable[..., TestClient], database: str
) -> None:
    client = make_client(state_file=database)
    assert client.get("/healthz").json()["state"] == {"backend": "postgresql", "connected": True}
    with psycopg.connect(database, autocommit=True) as admin:  # the server ends every connection of the mock
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                      " WHERE datname = current_database() AND pid <> pg_backend_pid()")  # fmt: skip
    answers = [client.get("/healthz") for _ in range(3)]  # the pool replaces the connections it finds broken
    assert answers[-1].status_code == 200 and answers[-1].json()["state"]["connected"] is True


def test_postgres_healthz_answers_503_while_the_database_is_gone(
    make_client: Callable[..., TestClient], postgres_server: PostgresServer
) -> None:
    database = postgres_server.database()
    client = make_client(state_file=database)
    with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {conninfo_to_dict(database)['dbname']} WITH (FORCE)")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable" and response.json()["state"]["connected"] is False


def test_postgres_webhook_deliveries_are_retried_and_logged(
    make_client: Callable[..., TestClient], receiver: Receiver, database: str
) -> None:
    client = make_client(state_file=database, webhook_retry_schedule=(0.05,))
    receiver.statuses = [503]
    subscribe(client, receiver.url)
    client.post(f"{IMPILO}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY)
    asyncio.run(dispatcher(client).drain(timeout=20))
    [row] = logs(client)
    assert (row["retryAttempts"], row["lastResponseStatus"]) == (1, 200)
    assert [a["status"] for a in attempts(client)] == [503, 200]
    assert [d["answered"] for d in receiver.deliveries] == [503, 200]


def test_postgres_webhook_events_of_one_app_are_delivered_once_by_two_apps(
    make_client: Callable[..., TestClient], receiver: Receiver, database: str
) -> None:
    one, two = make_client(state_file=database), make_client(state_file=database)
    subscribe(one, receiver.url)
    ids = [one.post(f"{IMPILO}/patient", json={**PATIENT_MINIMAL, "lastName": f"P{n}"}, headers=IMPILO_KEY).json()["id"]
           for n in range(30)]  # fmt: skip
    asyncio.run(dispatcher(two).drain(timeout=20))
    received = receiver.wait_for(30)
    assert sorted(d["body"]["payload"]["id"] for d in received) == ids
    assert len({d["body"]["id"] for d in received}) == 30
    assert all(row["lastResponseStatus"] == 200 for row in logs(two))


def test_postgres_webhook_deliveries_of_the_old_state_are_dropped_on_reset(
    make_client: Callable[..., TestClient], receiver: Receiver, database: str
) -> None:
    client = make_client(state_file=database, webhook_retry_schedule=(0.3,))
    receiver.statuses = [500]
    subscribe(client, receiver.url)
    client.post(f"{IMPILO}/patient", json=PATIENT_MINIMAL, headers=IMPILO_KEY)
    assert receiver.wait_for_arrivals(1) == 1
    assert client.post("/__mock/reset").status_code == 200
    asyncio.run(dispatcher(client).drain(timeout=10))
    assert dispatcher(client).unfinished == 0 and receiver.arrived == 1  # the retry was not sent
    assert logs(client) == [] and attempts(client) == []


# --- replicas: separate processes on one database ---


@pytest.fixture
def serve(database: str) -> Iterator[Serve]:
    """Factory: `python -m mocks` in its own process with STATE=<the database> (stopped at the end)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        command = [sys.executable, "-m", "mocks", "--port", str(port)]
        process = subprocess.Popen(command, env={**os.environ, "STATE": database, **env}, stdout=subprocess.DEVNULL)
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_for_health(f"{url}/healthz", timeout=30, alive=lambda: process.poll() is None)
        return process, url

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait()


def test_two_replicas_take_1000_concurrent_creates_with_unique_ids_and_exact_totals(serve: Serve) -> None:
    (_, one), (_, two) = serve(), serve()
    with httpx.Client(base_url=one, timeout=60) as http:
        before = total_impilo(http)

    def create(client: httpx.Client, n: int) -> int:
        url = (one, two)[n % 2]
        body = {"firstName": f"R{n}", "lastName": "Replicas", "externalIdentifier": f"replica-{n}"}
        response = client.post(f"{url}{IMPILO}/patient", json=body, headers=IMPILO_KEY)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    ids = in_threads(create, range(1000))
    assert len(set(ids)) == 1000
    for url in (one, two):
        with httpx.Client(base_url=url, timeout=60) as http:
            assert total_impilo(http) == before + 1000
    # every record read back from the replica that did not take its create
    assert read_back(f"{two}{IMPILO}/patient", ids[0::2]) == [f"R{n}" for n in range(0, 1000, 2)]
    assert read_back(f"{one}{IMPILO}/patient", ids[1::2]) == [f"R{n}" for n in range(1, 1000, 2)]


def test_two_replicas_refuse_the_same_external_identifier_sent_to_both_at_once(serve: Serve) -> None:
    (_, one), (_, two) = serve(), serve()

    def create(client: httpx.Client, n: int) -> int:
        body = {"firstName": f"D{n}", "lastName": "Twice", "externalIdentifier": f"same-{n // 2}"}
        return client.post(f"{(one, two)[n % 2]}{IMPILO}/patient", json=body, headers=IMPILO_KEY).status_code

    statuses = in_threads(create, range(200))
    pairs = [sorted(statuses[n : n + 2]) for n in range(0, 200, 2)]
    assert all(pair[0] == 201 and pair[1] != 201 and 400 <= pair[1] < 500 for pair in pairs), pairs


def held_by(database: str, pid: int) -> int:
    """Deliveries a process holds in the queue (its owner name ends with its pid)."""
    with psycopg.connect(database) as db:
        row = db.execute("SELECT count(*) FROM mock_deliveries WHERE owner LIKE %s", (f"%:{pid}",)).fetchone()
    return int(row[0]) if row else 0


def test_sigkilled_replica_loses_no_acknowledged_write_and_the_other_delivers_its_events_once(
    serve: Serve, receiver: Receiver, database: str
) -> None:
    receiver.statuses = [503] * 100_000  # down while the load runs: every delivery waits for a retry
    retries = {"WEBHOOK_RETRIES": ",".join(["0.2"] * 100)}  # none runs out before the receiver is back
    (victim, one), (_, two) = serve(**retries), serve(**retries)
    with httpx.Client(base_url=two, timeout=60) as http:
        subscribe(http, receiver.url)
        before = total_impilo(http)
    acknowledged: list[tuple[int, str]] = []

    def create(client: httpx.Client, n: int) -> None:
        body = {"firstName": f"K{n}", "lastName": "Killed"}
        try:
            response = client.post(f"{(one, two)[n % 2]}{IMPILO}/patient", json=body, headers=IMPILO_KEY)
        except httpx.TransportError:
            return  # the killed replica's: not acknowledged
        if response.status_code == 201:
            acknowledged.append((int(response.json()["id"]), f"K{n}"))
        if n == 300:
            wait_until(lambda: held_by(database, victim.pid) > 0, timeout=30)
            os.kill(victim.pid, signal.SIGKILL)

    in_threads(create, range(600), workers=8)
    victim.wait()
    receiver.statuses.clear()  # the receiver is back
    with httpx.Client(base_url=two, timeout=60) as http:
        ids = [key for key, _ in acknowledged]
        assert read_back(f"{two}{IMPILO}/patient", ids) == [name for _, name in acknowledged]
        assert total_impilo(http) == before + len(acknowledged)

        def finished() -> bool:
            rows = state(http, "impilo")["webhook_logs"]
            return len(rows) == len(acknowledged) and all(row["lastResponseStatus"] == 200 for row in rows)

        wait_until(finished, timeout=120)
    assert held_by(database, victim.pid) == 0
    delivered = [d["body"] for d in receiver.deliveries if d["answered"] == 200]
    assert sorted(event["payload"]["id"] for event in delivered) == sorted(ids)  # every event, each once
