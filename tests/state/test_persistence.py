"""`STATE=<file>`: the mock keeps its state in SQLite, survives restarts and crashes, and shares it safely."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mocks.__main__ import banner
from mocks.app import context_of, create_app
from mocks.state.sqlite import SQLiteStore
from mocks.state.store import StateError
from mocks.vendors import VENDORS
from tests.support.helpers import (
    IMPILO_KEY,
    LEGIT_AUTH,
    base,
    free_port,
    heidi_token,
    in_threads,
    read_back,
    state,
    wait_for_health,
)
from tests.support.live import LiveServer

MakeClient = Callable[..., TestClient]
IMPILO, HEIDI, LEGIT = base("impilo"), base("heidi"), base("legit_health")


@pytest.fixture
def state_file(tmp_path: Path) -> str:
    return str(tmp_path / "state.sqlite3")


def writes(client: TestClient | httpx.Client, tag: str) -> dict[str, Any]:
    """One acknowledged write per API (a create each, an order status change); returns what to look for."""
    patient = client.post(f"{IMPILO}/patient", json={"firstName": tag, "lastName": "Kept"}, headers=IMPILO_KEY)
    moved = client.post("/__mock/impilo/orders/1/status", json={"status": "cancelled"})
    profile = client.post(f"{HEIDI}/patient-profiles", json={"first_name": tag}, headers=heidi_token(client))
    legit = client.post(
        f"{LEGIT}/patients", json={"externalId": f"ext-{tag}", "email": f"{tag}@example.com"}, headers=LEGIT_AUTH
    )
    assert [r.status_code for r in (patient, moved, profile, legit)] == [201, 200, 200, 201]
    return {"impilo": patient.json()["id"], "heidi": profile.json()["data"]["id"], "legit": legit.json()["id"]}


def assert_kept(client: TestClient | httpx.Client, tag: str, ids: dict[str, Any]) -> None:
    patient = client.get(f"{IMPILO}/patient/{ids['impilo']}", headers=IMPILO_KEY)
    assert patient.status_code == 200 and patient.json()["firstName"] == tag
    order = client.get(f"{IMPILO}/order/1", headers=IMPILO_KEY).json()
    assert order["currentStatus"] == "cancelled" and order["orderEvents"][-1]["name"] == "cancelled"
    profile = client.get(f"{HEIDI}/patient-profiles/{ids['heidi']}", headers=heidi_token(client))
    assert profile.status_code == 200 and profile.json()["data"]["first_name"] == tag
    legit = client.get(f"{LEGIT}/patients/{ids['legit']}", headers=LEGIT_AUTH)
    assert legit.status_code == 200 and legit.json()["externalId"] == f"ext-{tag}"
    sent = client.get("/__mock/outbox", params={"api": "legit_health"}).json()
    assert f"{tag}@example.com" in {m["to"] for m in sent}


# --- the existing behaviour with the state in a file (the tests marked `on_each_store` run on both stores) ---


def test_state_file_seed_state_equals_the_in_memory_one_ids_included(make_client: MakeClient, state_file: str) -> None:
    in_file = make_client(seed=7, state_file=state_file)
    in_memory = make_client(seed=7)
    assert state(in_file) == state(in_memory)
    assert in_file.get("/__mock/outbox").json() == in_memory.get("/__mock/outbox").json() == []


# --- restarts, reset, seed changes ---


def test_state_survives_a_restart_without_reseeding_when_the_file_is_reused(
    make_client: MakeClient, state_file: str
) -> None:
    first = make_client(state_file=state_file)
    ids = writes(first, "Ada")
    before = state(first)
    second = make_client(state_file=state_file)
    assert_kept(second, "Ada", ids)
    assert state(second) == before
    again = writes(second, "Bea")  # ids go on from where the first run stopped
    assert again["impilo"] > ids["impilo"] and again["heidi"] != ids["heidi"] and again["legit"] != ids["legit"]


def test_reset_reseeds_the_file_and_a_restart_keeps_the_seed_state(make_client: MakeClient, state_file: str) -> None:
    client = make_client(state_file=state_file)
    seeded = state(client)
    writes(client, "Ada")
    assert client.post("/__mock/reset").status_code == 200
    assert state(client) == seeded
    assert client.get("/__mock/outbox").json() == []
    assert state(make_client(state_file=state_file)) == seeded


def another_seed_refused(state_file: str, found: int, asked: int) -> str:
    return (
        f"STATE file {state_file} holds the data of SEED={found}, not of SEED={asked}: start with SEED={found} "
        f"to use it, or delete the file (or pick another STATE=...) to start over with SEED={asked}"
    )


def test_state_file_refuses_another_seed_and_keeps_its_data_when_the_mock_restarts_with_one(
    make_client: MakeClient, state_file: str
) -> None:
    ids = writes(make_client(seed=0, state_file=state_file), "Ada")
    with pytest.raises(StateError) as refused:
        make_client(seed=1, state_file=state_file)
    assert str(refused.value) == another_seed_refused(state_file, 0, 1)
    assert_kept(make_client(seed=0, state_file=state_file), "Ada", ids)


def test_state_file_is_seeded_when_it_is_an_empty_file(make_client: MakeClient, state_file: str) -> None:
    Path(state_file).touch()
    assert state(make_client(seed=3, state_file=state_file)) == state(make_client(seed=3))


# --- the store itself ---


def test_failed_check_then_act_block_writes_nothing_when_it_raises(state_file: str) -> None:
    store = SQLiteStore(0, state_file)
    patients = store.collection("impilo", "patients", unique=("externalIdentifier",))
    with pytest.raises(RuntimeError), store.lock:
        patients.add(lambda key: {"id": key, "externalIdentifier": "x"})
        raise RuntimeError("conflict found after the write")
    assert len(patients) == 0 and patients.find_unique("externalIdentifier", "x") is None
    store.close()


def test_two_stores_on_one_file_see_each_others_writes_and_never_share_an_id(state_file: str) -> None:
    one, two = SQLiteStore(0, state_file), SQLiteStore(0, state_file)
    a, b = (s.collection("legit_health", "patients", id_kind="uuid", unique=("externalId",)) for s in (one, two))
    first = a.add(lambda key: {"id": key, "externalId": "e1"})
    second = b.add(lambda key: {"id": key, "externalId": "e2"})
    assert first["id"] != second["id"]
    assert b.get(first["id"]) == first and a.find_unique("externalId", "e2") == second
    assert len(a) == len(b) == 2 and a.slice(0, 2) == b.values() == [first, second]
    one.close()
    two.close()


def test_lookups_and_pages_use_indexes_not_scans(state_file: str) -> None:
    store = SQLiteStore(0, state_file)
    patients = store.collection("impilo", "patients", unique=("externalIdentifier",))
    for n in range(50):
        patients.add(lambda key, n=n: {"id": key, "externalIdentifier": f"ext-{n}"})
    connection = store.connection()
    executed: list[str] = []
    connection.set_trace_callback(executed.append)
    patients.get(7), patients.find_unique("externalIdentifier", "ext-7"), patients.slice(0, 15), len(patients)
    connection.set_trace_callback(None)
    plans = {s: [row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {s}")] for s in executed}
    assert len(plans) == 4
    assert all(step.startswith("SEARCH") for steps in plans.values() for step in steps), plans
    store.close()


# --- a real server: concurrency, crashes ---


def test_ids_stay_unique_and_totals_exact_when_two_servers_on_one_file_take_1000_concurrent_creates(
    state_file: str,
) -> None:
    with (
        LiveServer(seed=0, state_file=state_file) as one,
        LiveServer(seed=0, state_file=state_file) as two,
        httpx.Client(base_url=one.url, timeout=60) as first,
        httpx.Client(base_url=two.url, timeout=60) as second,
    ):
        servers, auth = ((one, first), (two, second)), heidi_token(first)
        before = {"impilo": total_impilo(first), "heidi": len(profiles(second, auth))}

        def create(http: httpx.Client, n: int) -> tuple[str, Any]:
            url = (one, two)[n % 2].url
            if n % 3 == 0:
                body = {"firstName": f"C{n}", "lastName": "Load"}
                r = http.post(f"{url}{IMPILO}/patient", json=body, headers=IMPILO_KEY)
                return "impilo", r.json()["id"] if r.status_code == 201 else r.text
            if n % 3 == 1:
                r = http.post(f"{url}{HEIDI}/patient-profiles", json={"first_name": f"C{n}"}, headers=auth)
                return "heidi", r.json()["data"]["id"] if r.status_code == 200 else r.text
            r = http.post(f"{url}{LEGIT}/patients", json={"externalId": f"load-{n}", "phone": "+1-202-555-0100"},
                       headers=LEGIT_AUTH)  # fmt: skip
            return "legit", r.json()["id"] if r.status_code == 201 else r.text

        created = in_threads(create, range(1000))
        by_api = {api: [key for kind, key in created if kind == api] for api in ("impilo", "heidi", "legit")}
        assert {api: len(set(keys)) for api, keys in by_api.items()} == {"impilo": 334, "heidi": 333, "legit": 333}
        for server, http in servers:  # each server sees every write, whichever server took it
            assert total_impilo(http) == before["impilo"] + 334
            listed = {p["id"] for p in profiles(http, auth)}
            assert len(listed) == before["heidi"] + 333 and listed >= set(by_api["heidi"])
            assert sorted(legit_ids(http, [f"load-{n}" for n in range(2, 1000, 3)])) == sorted(by_api["legit"])
            impilo_ids = [int(key) for key in by_api["impilo"]]
            expected = [f"C{n}" for n in range(0, 1000, 3)]
            assert read_back(f"{server.url}{IMPILO}/patient", impilo_ids) == expected


def legit_ids(http: httpx.Client, external_ids: list[str]) -> list[str]:
    found = []
    for start in range(0, len(external_ids), 100):  # the spec takes up to 100 ids per request
        params = {"externalIds[]": external_ids[start : start + 100]}
        found += [p["id"] for p in http.get(f"{LEGIT}/patients", params=params, headers=LEGIT_AUTH).json()]
    return found


def total_impilo(http: httpx.Client) -> int:
    return int(http.get(f"{IMPILO}/patient", headers=IMPILO_KEY).json()["total"])


def profiles(http: httpx.Client, auth: dict[str, str]) -> list[dict[str, Any]]:
    return http.get(f"{HEIDI}/patient-profiles", headers=auth).json()["data"]  # type: ignore[no-any-return]


@pytest.fixture
def serve(state_file: str) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], str]]]:
    """Factory: `python -m mocks` in its own process with STATE=<file> (stopped at the end if still running)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(workers: int = 1) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        env = {**os.environ, "STATE": state_file, "WORKERS": str(workers)}
        command = [sys.executable, "-m", "mocks", "--port", str(port)]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_for_health(f"{url}/healthz", timeout=30, alive=lambda: process.poll() is None)
        return process, url

    yield start
    for process in started:  # SIGTERM first: uvicorn's supervisor stops its worker processes (SIGKILL orphans them)
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait()


def test_every_acknowledged_write_survives_a_sigkill_when_the_server_restarts_on_the_file(
    serve: Callable[..., tuple[subprocess.Popen[bytes], str]],
) -> None:
    process, url = serve()
    with httpx.Client(base_url=url) as http:
        before = total_impilo(http)
        kept = {f"W{n}": writes(http, f"W{n}") for n in range(5)}
        os.kill(process.pid, signal.SIGKILL)  # right after the last answer: no shutdown, no checkpoint
    process.wait()
    _, url = serve()
    with httpx.Client(base_url=url) as http:
        for tag, ids in kept.items():
            assert_kept(http, tag, ids)
        assert total_impilo(http) == before + len(kept)


def test_workers_share_one_state_file_with_unique_ids_and_exact_totals(
    serve: Callable[..., tuple[subprocess.Popen[bytes], str]],
) -> None:
    _, url = serve(workers=2)
    with httpx.Client(base_url=url, timeout=60) as http:
        before = total_impilo(http)

        def create(worker: httpx.Client, n: int) -> int:
            body = {"firstName": f"W{n}", "lastName": "Workers"}
            response = worker.post(f"{url}{IMPILO}/patient", json=body, headers=IMPILO_KEY)
            assert response.status_code == 201, response.text
            return int(response.json()["id"])

        ids = in_threads(create, range(1000))
        assert len(set(ids)) == 1000
        totals = {total_impilo(http) for _ in range(6)}  # answered by whichever worker: all agree
        assert totals == {before + 1000}
        assert read_back(f"{url}{IMPILO}/patient", ids) == [f"W{n}" for n in range(1000)]


def python_m_mocks(**env: str) -> subprocess.CompletedProcess[str]:
    """`python -m mocks` with `env` added to this one's; an answer when it refuses to start (60 s else)."""
    command = [sys.executable, "-m", "mocks", "--port", str(free_port())]
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def test_python_m_mocks_exits_2_and_a_running_mock_keeps_its_data_when_started_on_its_file_with_another_seed(
    serve: Callable[..., tuple[subprocess.Popen[bytes], str]], state_file: str
) -> None:
    _, url = serve()
    with httpx.Client(base_url=url) as http:
        ids = writes(http, "Ada")
        refused = python_m_mocks(STATE=state_file, SEED="1")
        assert (refused.returncode, refused.stdout) == (2, "")
        assert refused.stderr.splitlines() == [f"error: {another_seed_refused(state_file, 0, 1)}"]
        assert_kept(http, "Ada", ids)


@pytest.fixture(scope="module")
def written_state_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a state file the mock wrote, after 300 patients were created (WAL checkpointed on close)."""
    path = tmp_path_factory.mktemp("written") / "state.sqlite3"
    app = create_app(seed=0, state_file=str(path))
    with TestClient(app, base_url="http://localhost") as client:
        for n in range(300):
            created = client.post(
                f"{IMPILO}/patient", json={"firstName": f"P{n}", "lastName": "Many"}, headers=IMPILO_KEY
            )
            assert created.status_code == 201
    context_of(app).store.close()
    return path.read_bytes()


def damaged_pages(data: bytes) -> bytes:
    """Three pages in the middle of the file overwritten with (seeded) random bytes."""
    page = int.from_bytes(data[16:18], "big")
    middle = len(data) // page // 2 * page
    return data[:middle] + random.Random(0).randbytes(3 * page) + data[middle + 3 * page :]


DAMAGE = [
    pytest.param(lambda data: random.Random(0).randbytes(len(data)), id="random-bytes"),
    pytest.param(lambda data: data[: len(data) // 2], id="truncated-copy"),
    pytest.param(damaged_pages, id="damaged-pages"),
]


@pytest.mark.parametrize("damage", DAMAGE)
def test_python_m_mocks_exits_2_naming_the_file_and_leaves_it_as_it_was_when_the_state_file_is_damaged(
    written_state_file: bytes, state_file: str, damage: Callable[[bytes], bytes]
) -> None:
    Path(state_file).write_bytes(damaged := damage(written_state_file))
    refused = python_m_mocks(STATE=state_file)
    assert (refused.returncode, refused.stdout) == (2, "")  # no banner: nothing started
    [line] = refused.stderr.splitlines()
    assert line.startswith(f"error: STATE file {state_file} is damaged (SQLite: ")
    assert line.endswith("); move it away or delete it to start over from the seed, or restore a copy of it")
    assert Path(state_file).read_bytes() == damaged


def test_state_file_is_refused_and_left_untouched_when_it_is_another_programs_database(state_file: str) -> None:
    with sqlite3.connect(state_file) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        db.execute("INSERT INTO invoices (total) VALUES (12.5)")
    db.close()
    before = Path(state_file).read_bytes()
    with pytest.raises(StateError, match=r"is another program's SQLite database \(tables: invoices\)"):
        create_app(seed=0, state_file=state_file)
    assert Path(state_file).read_bytes() == before


def test_python_m_mocks_refuses_several_workers_without_a_state_file() -> None:
    env = {**os.environ, "WORKERS": "2"}
    env.pop("STATE", None)
    result = subprocess.run([sys.executable, "-m", "mocks", "--port", str(free_port())], env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: WORKERS>1 needs STATE=<file>: worker processes share their state through it"
    ]


def test_banner_names_the_state_file_and_the_worker_processes() -> None:
    credentials = {api.slug: "key" for api in VENDORS}
    lines = banner("127.0.0.1", 8000, 0, credentials, "/tmp/mock.sqlite3", 2).splitlines()
    assert lines[-1] == "  State: in the SQLite file /tmp/mock.sqlite3 (survives restarts), 2 worker processes"
