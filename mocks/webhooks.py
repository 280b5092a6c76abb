"""Outbound webhook delivery, off the API's event loop: retries, a circuit breaker per receiver, every attempt logged.

`emit` runs on the API's thread and only writes one log row per subscribed URL (the vendor's WebhookLog
fields) and hands the deliveries to a delivery thread, which has its own asyncio loop and HTTP client. The
API never waits on a receiver and never does a delivery's network or error-handling work. The thread starts
with the first event and ends after `IDLE_SECONDS` with nothing to deliver, or on `close()` (at interpreter
exit at the latest). Each worker process (`WORKERS=n`) has its own and delivers the events it emitted; log
rows and attempts are written through the store, whose writes are thread-safe (and process-safe on SQLite).

A delivery is POSTed as `{id, type, payload}`. A refused connection, a timeout or a non-2xx answer is
retried after each delay of the schedule, and never sooner. The log row is updated after every attempt
(`retryAttempts`, `lastResponseStatus`, `lastRetryTimestamp`, `delivered`); every attempt is also kept
individually for `/__mock/webhooks/attempts`.

A receiver that is down costs bounded work, per receiver URL:

- at most `MAX_IN_FLIGHT` attempts at once; further deliveries wait their turn, oldest first;
- a circuit breaker: after `BREAKER_THRESHOLD` consecutive failed attempts the circuit opens. Deliveries
  that become due while it is open (new events and retries) are held: not attempted, and none of their
  retries spent. One delay of the schedule after the circuit opened, the oldest held delivery is sent as
  a probe; this is a real attempt, logged and counted in that delivery's retries. If the probe fails, the
  next one waits for the next delay of the schedule (the last delay repeats). The first attempt that
  succeeds closes the circuit, and the held deliveries are then sent, oldest first.

So a dead receiver costs one attempt per probe interval, however many events arrive. A held delivery is
never lost and never reported failed without being tried. Its row shows `delivered: false` with the
retries it actually used, and the receiver gets the event once it recovers. Only a delivery whose own
attempts all failed ends undelivered. The breaker lives in the delivery thread, so it forgets a receiver
after `IDLE_SECONDS` with no event. `POST /__mock/reset` drops the held and pending deliveries of the old
state and sends nothing more for them.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext, suppress
from typing import Any
from urllib.parse import urlsplit

from mocks.context import now_iso
from mocks.store import Collection, Key, Record
from mocks.webhook_client import WebhookClient

SECRET_HEADER = "Impilo-Webhook-Secret"
LOGGER = logging.getLogger(__name__)
BREAKER_THRESHOLD = 5  # consecutive failed attempts that open a receiver's circuit
MAX_IN_FLIGHT = 8  # attempts at once per receiver URL
IDLE_SECONDS = 5.0  # the delivery thread ends after this long with nothing to deliver and no new event
PROBE_DELAY_WITHOUT_RETRIES = 1.0  # seconds between probes when the schedule is empty (no retries)


class _Delivery:
    """One event on its way to one URL. `payload` is the log row's JSON text, sent as the body."""

    __slots__ = ("event_type", "log_id", "payload", "tries", "url", "webhook_id")

    def __init__(self, log_id: Key, webhook_id: Key, event_type: str, url: str, payload: str) -> None:
        self.log_id, self.webhook_id, self.event_type = log_id, webhook_id, event_type
        self.url, self.payload, self.tries = url, payload, 0


class _Circuit:
    """The breaker and the queue of one receiver URL; used by the delivery thread only."""

    __slots__ = ("failures", "in_flight", "is_open", "probe_at", "probes_failed", "probing", "ready", "timer")

    def __init__(self) -> None:
        self.failures = 0  # consecutive failed attempts
        self.is_open = False
        self.probing = False  # a probe is in flight
        self.probes_failed = 0
        self.probe_at = 0.0  # loop time of the next probe, while open
        self.in_flight = 0
        self.ready: deque[_Delivery] = deque()  # due now, waiting for a slot or for the circuit
        self.timer: asyncio.TimerHandle | None = None  # wakes the queue for the next probe


class WebhookDispatcher:
    def __init__(
        self,
        subscriptions: Collection,
        logs: Collection,
        attempts: Collection,
        secret: Callable[[], str | None],
        schedule: tuple[float, ...],
        timeout: float,
        hosts: tuple[str, ...] = ("*",),
        events: Collection | None = None,
        breaker_threshold: int = BREAKER_THRESHOLD,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.subscriptions, self.logs, self.attempts = subscriptions, logs, attempts
        self._secret, self.schedule, self.timeout, self.hosts = secret, schedule, timeout, hosts
        self.breaker_threshold, self.max_in_flight = max(1, breaker_threshold), max(1, max_in_flight)
        # Event ids come from the store, so they stay unique across worker processes and restarts.
        self._events = events if events is not None else logs
        # The store's lock, which both stores' collections carry (`MockContext.reset` holds it too).
        self._store_lock: AbstractContextManager[Any] = getattr(logs, "_lock", None) or nullcontext()
        # Shared with the delivery thread, under `_lock`: the deliveries it has not taken yet, the count of
        # deliveries not finished (taken or not), the thread itself.
        self._lock = threading.Lock()
        self._inbox: list[_Delivery] = []
        self._unfinished = 0
        self._last_event = 0.0
        self._worker: _Worker | None = None
        _DISPATCHERS.add(self)

    # --- the API's side ---------------------------------------------------------------------------------
    def emit(self, event_type: str, payload: dict[str, Any]) -> list[Record]:
        """Log and queue one delivery per webhook subscribed to `event_type`; returns their log rows."""
        targets = self.subscriptions.where(lambda w: w["type"] == event_type)
        if not targets:
            return []
        text = json.dumps({"id": self._events.new_id(), "type": event_type, "payload": payload})
        rows, deliveries = [], []
        for hook in targets:

            def build(key: Key, hook: Record = hook) -> Record:
                return {
                    "id": key,
                    "webhookId": hook["id"],
                    "webhookType": event_type,
                    "webhookUrl": hook["url"],
                    "payload": text,
                    "createTimestamp": now_iso(),
                    "lastResponseStatus": None,
                    "retryAttempts": 0,
                    "lastRetryTimestamp": None,
                    "delivered": False,
                }

            row = self.logs.add(build)
            rows.append(row)
            deliveries.append(_Delivery(row["id"], hook["id"], event_type, hook["url"], text))
        self._hand_over(deliveries)
        return rows

    def _hand_over(self, deliveries: list[_Delivery]) -> None:
        with self._lock:
            self._inbox.extend(deliveries)
            self._unfinished += len(deliveries)
            self._last_event = time.monotonic()
            worker = self._worker
            if worker is None or worker.pid != os.getpid():
                self._worker = _Worker(self)  # takes the inbox when it starts
                self._worker.start()
            elif not worker.wake_pending:  # one wake-up for a burst of events
                worker.wake_pending = True
                worker.loop.call_soon_threadsafe(worker.take_inbox)

    @property
    def unfinished(self) -> int:
        """Deliveries neither delivered nor out of retries (held by an open circuit included)."""
        return self._unfinished

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every delivery is delivered or out of retries, at most `timeout` s (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._unfinished and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the delivery thread; deliveries not finished stay as their log rows show them."""
        with self._lock:
            worker, self._worker = self._worker, None
            self._inbox.clear()
            self._unfinished = 0
        if worker is not None and worker.pid == os.getpid():
            worker.stop(timeout)

    def allowed(self, url: str) -> bool:
        """Whether the delivery policy lets the mock contact `url`'s host (127.0.0.0/8 counts as loopback)."""
        host = (urlsplit(url).hostname or "").lower()
        return "*" in self.hosts or host in self.hosts or (host.startswith("127.") and "127.0.0.1" in self.hosts)

    # --- the delivery thread's side -----------------------------------------------------------------------
    def _finished(self) -> None:
        with self._lock:
            self._unfinished = max(0, self._unfinished - 1)

    def _idle(self, worker: _Worker) -> bool:
        """Whether `worker` may end: it is current, has nothing to do and saw no event for `IDLE_SECONDS`.
        Once this says yes, the next event starts a new worker."""
        with self._lock:
            if self._worker is not worker:
                return True
            if self._unfinished or self._inbox or time.monotonic() - self._last_event < IDLE_SECONDS:
                return False
            self._worker = None
            return True

    def _ended(self, worker: _Worker) -> None:
        """A delivery thread ended; if it was not told to (a fault), the next one takes what is waiting."""
        with self._lock:
            if self._worker is worker:
                LOGGER.error("webhook delivery thread ended unexpectedly; deliveries in progress were dropped")
                self._worker = None
                if self._inbox:
                    self._worker = _Worker(self)
                    self._worker.start()

    def _current(self, delivery: _Delivery) -> Record | None:
        """The delivery's log row, or None when the store was reset since (the row is gone or another's)."""
        row = self.logs.get(delivery.log_id)
        return row if row is not None and row.get("payload") == delivery.payload else None

    def _record(self, delivery: _Delivery, status: int | None, error: str | None) -> None:
        with self._store_lock:  # one transaction (on SQLite), and a reset cannot come in between
            self._record_unlocked(delivery, status, error)

    def _record_unlocked(self, delivery: _Delivery, status: int | None, error: str | None) -> None:
        row = self._current(delivery)
        if row is None:
            return
        stamp, retry = now_iso(), delivery.tries - 1
        self.logs.put(
            delivery.log_id,
            {
                **row,
                "lastResponseStatus": status if status is not None else 0,
                "retryAttempts": retry,
                "lastRetryTimestamp": stamp if retry else row["lastRetryTimestamp"],
                "delivered": error is None,
            },
        )
        self.attempts.add(
            lambda key: {
                "id": key,
                "logId": delivery.log_id,
                "webhookId": delivery.webhook_id,
                "webhookType": delivery.event_type,
                "url": delivery.url,
                "attempt": delivery.tries,
                "status": status,
                "error": error,
                "at": stamp,
            }
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "impilo-mock-webhooks/1"}
        secret = self._secret()
        if secret:
            headers[SECRET_HEADER] = secret
        return headers

    def _probe_delay(self, failed_probes: int) -> float:
        schedule = self.schedule or (PROBE_DELAY_WITHOUT_RETRIES,)
        return schedule[min(failed_probes, len(schedule) - 1)]


class _Worker:
    """The delivery thread of one dispatcher: an event loop, an HTTP client and the receivers' circuits."""

    def __init__(self, dispatcher: WebhookDispatcher) -> None:
        self.d = dispatcher
        self.pid = os.getpid()
        self.loop = _new_loop()
        self.wake_pending = True  # the first `take_inbox` is already planned
        self.circuits: dict[str, _Circuit] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.client: WebhookClient | None = None
        self.done: asyncio.Future[None] | None = None
        self.thread = threading.Thread(target=self._run, name="webhook-delivery", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float) -> None:
        if self.thread.is_alive():
            with suppress(RuntimeError):  # the loop already closed
                self.loop.call_soon_threadsafe(self._quit)
            self.thread.join(timeout)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        finally:
            self.loop.close()
            self.d._ended(self)

    async def _serve(self) -> None:
        self.done = self.loop.create_future()
        self.client = WebhookClient(self.d.timeout, max_idle=self.d.max_in_flight)
        try:
            self.take_inbox()
            self.loop.call_later(IDLE_SECONDS, self._check_idle)
            await self.done
            for task in list(self.tasks):
                task.cancel()
            if self.tasks:
                await asyncio.wait(set(self.tasks), timeout=1.0)
        finally:
            await self.client.aclose()

    def _quit(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(None)

    def _check_idle(self) -> None:
        if self.d._idle(self):
            self._quit()
        else:
            self.loop.call_later(IDLE_SECONDS, self._check_idle)

    def take_inbox(self) -> None:
        with self.d._lock:
            taken, self.d._inbox = self.d._inbox, []
            self.wake_pending = False
        urls = set()
        for delivery in taken:
            if not self.d.allowed(delivery.url):
                hosts = ", ".join(self.d.hosts)
                delivery.tries = 1
                self.d._record(delivery, None, f"not delivered: host not allowed (allowed: {hosts}; set WEBHOOK_HOSTS)")
                self.d._finished()
                continue
            self._circuit(delivery.url).ready.append(delivery)
            urls.add(delivery.url)
        for url in urls:
            self._pump(url)

    def _circuit(self, url: str) -> _Circuit:
        circuit = self.circuits.get(url)
        if circuit is None:
            circuit = self.circuits[url] = _Circuit()
        return circuit

    def _pump(self, url: str) -> None:
        """Start what the circuit allows: closed, up to the cap; open, one probe once it is due."""
        circuit = self.circuits.get(url)
        if circuit is None:
            return
        if not circuit.is_open:
            while circuit.ready and circuit.in_flight < self.d.max_in_flight:
                self._start(url, circuit, circuit.ready.popleft(), probe=False)
        elif circuit.ready and not circuit.probing:
            if self.loop.time() >= circuit.probe_at:
                circuit.probing = True
                self._start(url, circuit, circuit.ready.popleft(), probe=True)
            elif circuit.timer is None:
                circuit.timer = self.loop.call_at(circuit.probe_at, self._probe_due, url)
        if not circuit.ready and not circuit.in_flight and not circuit.failures and circuit.timer is None:
            del self.circuits[url]  # a healthy receiver with nothing queued: nothing to remember

    def _probe_due(self, url: str) -> None:
        circuit = self.circuits.get(url)
        if circuit is not None:
            circuit.timer = None
            self._pump(url)

    def _start(self, url: str, circuit: _Circuit, delivery: _Delivery, probe: bool) -> None:
        circuit.in_flight += 1
        task = self.loop.create_task(self._attempt(url, circuit, delivery, probe))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _attempt(self, url: str, circuit: _Circuit, delivery: _Delivery, probe: bool) -> None:
        try:
            if self.d._current(delivery) is None:  # the store was reset: nothing to deliver any more
                circuit.probing = circuit.probing and not probe
                self.d._finished()
                return
            status, error = await self._post(delivery)
            delivery.tries += 1
            self.d._record(delivery, status, error)
            self._settle(circuit, delivery, probe, error is None)
        except Exception:  # a fault of the mock itself (the store): say so, and do not keep the delivery forever
            LOGGER.exception("webhook delivery %s to %s abandoned", delivery.log_id, delivery.url)
            circuit.probing = circuit.probing and not probe
            self.d._finished()
        finally:
            circuit.in_flight -= 1
            self._pump(url)

    async def _post(self, delivery: _Delivery) -> tuple[int | None, str | None]:
        assert self.client is not None
        try:
            status = await self.client.post(delivery.url, delivery.payload.encode(), self.d._headers())
        except TimeoutError:
            return None, f"timeout: no answer within {self.d.timeout:g} s"
        except Exception as exc:  # refused, reset, unreachable, malformed answer, not an http(s) URL
            return None, f"connection failed: {exc!r}"
        return status, None if 200 <= status < 300 else f"HTTP {status}"

    def _settle(self, circuit: _Circuit, delivery: _Delivery, probe: bool, ok: bool) -> None:
        """Move the breaker on after one attempt, and retry or finish the delivery."""
        if probe:
            circuit.probing = False
        if ok:
            circuit.failures, circuit.probes_failed, circuit.is_open = 0, 0, False
            self.d._finished()
            return
        circuit.failures += 1
        now = self.loop.time()
        if circuit.is_open and probe:
            circuit.probes_failed += 1
            circuit.probe_at = now + self.d._probe_delay(circuit.probes_failed)
        elif not circuit.is_open and circuit.failures >= self.d.breaker_threshold:
            circuit.is_open, circuit.probes_failed = True, 0
            circuit.probe_at = now + self.d._probe_delay(0)
        if delivery.tries > len(self.d.schedule):
            self.d._finished()  # out of retries: its row says so
            return
        self.loop.call_later(self.d.schedule[delivery.tries - 1], self._due, delivery)

    def _due(self, delivery: _Delivery) -> None:
        self._circuit(delivery.url).ready.append(delivery)
        self._pump(delivery.url)


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


_DISPATCHERS: weakref.WeakSet[WebhookDispatcher] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for dispatcher in list(_DISPATCHERS):
        dispatcher.close(timeout=1.0)
