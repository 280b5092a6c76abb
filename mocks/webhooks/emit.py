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
individually for `/__mock/webhooks/attempts`. Where a delivery may go is `mocks.webhooks.policy`'s to say
(for a listed host name: on the addresses it resolves to before each attempt, which are the ones the
client connects to): a refused delivery is logged as one attempt (`not delivered: <why>`), not retried.
A failed attempt says `connection failed` whatever the cause (refused, reset, unreachable, not HTTP, not
resolved), `timeout: ...`, or `HTTP <status>`: no more than a receiver's owner needs, so the log is no port
scanner (the details go to the `mocks.webhooks.emit` debug log).

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
once nothing is waiting and no event came for `IDLE_SECONDS`. Waiting deliveries live in the process's
memory: when it stops, those not finished stay as their rows show them. `POST /__mock/reset` drops the
held and pending deliveries of the old state and sends nothing more for them.

On a store with a shared delivery queue (PostgreSQL: replicas on several machines), `emit` puts the
deliveries in the queue, in the transaction that writes their log rows, and every process's delivery
thread runs for as long as the app and claims what is waiting (`DeliveryQueue.claim`: one owner per
delivery, for a lease it renews at each poll). Whichever replica is free takes an event, whoever emitted
it; a replica that dies leaves its deliveries to the others once its lease runs out (`LEASE_SECONDS`),
and they go on from the attempts the log rows show.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from typing import Any

import orjson

from mocks.state.clock import now_iso
from mocks.state.store import Collection, DeliveryQueue, Key, Record
from mocks.webhooks.delivery import IDLE_SECONDS, Delivery, DeliveryThread
from mocks.webhooks.policy import WebhookPolicy

SECRET_HEADER = "Impilo-Webhook-Secret"
LOGGER = logging.getLogger(__name__)
BREAKER_THRESHOLD = 5  # consecutive failed attempts that open a receiver's circuit
MAX_IN_FLIGHT = 8  # attempts at once per receiver URL
PROBE_DELAY_WITHOUT_RETRIES = 1.0  # seconds between probes when the schedule is empty (no retries)
LEASE_SECONDS = 5.0  # a shared queue's claim: renewed at each poll; a dead replica's deliveries free after it
MAX_HELD = 256  # deliveries one process holds from a shared queue at once (the rest wait for a free replica)


class WebhookEmitter:
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
        own_ports: tuple[int, ...] = (),
    ) -> None:
        self.subscriptions, self.logs, self.attempts = subscriptions, logs, attempts
        self._secret, self.schedule, self.timeout = secret, schedule, timeout
        self.policy = WebhookPolicy(hosts, own_ports)  # where deliveries may go (mocks/webhooks/policy.py)
        self.breaker_threshold, self.max_in_flight = max(1, breaker_threshold), max(1, max_in_flight)
        # Event ids come from the store, so they stay unique across worker processes and restarts.
        self._events = events if events is not None else logs
        # The store's lock, which both stores' collections carry (`MockContext.reset` holds it too).
        self._store_lock: AbstractContextManager[Any] = getattr(logs, "_lock", None) or nullcontext()
        # Shared with the delivery thread, under `_lock`: the deliveries it has not taken yet, the count of
        # deliveries not finished (taken or not), the thread itself.
        self._lock = threading.Lock()
        # Waiting deliveries are log ids (ints), and their payload texts sit in one dict: neither is an object
        # the garbage collector tracks, so the tens of thousands a dead receiver can have waiting cost its
        # collections nothing. (As objects, even short-lived tuples, they tripled the full collections
        # under load: 25-65 ms pauses of the API each.)
        self._inbox: dict[str, list[Key]] = {}  # URL -> log ids, not yet taken by the thread
        self._payloads: dict[Key, str] = {}  # log id -> payload text, for every delivery not finished
        self._last_event = 0.0
        self._thread: DeliveryThread | None = None
        # A shared queue (PostgreSQL): deliveries wait in the store, not in `_inbox`; `_held` maps the log id
        # of each one this process claimed to its queue id.
        self._queue: DeliveryQueue | None = logs.delivery_queue()
        self._held: dict[Key, int] = {}
        self._name = f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"
        _DISPATCHERS.add(self)
        if self._queue is not None:
            with self._lock:
                self._start_thread()  # takes other replicas' deliveries too, from the start

    @property
    def owner(self) -> str:
        """This process's name on a shared queue."""
        return f"{self._name}:{os.getpid()}"

    def _start_thread(self) -> None:
        """A delivery thread, unless this process has one (called under `_lock`)."""
        thread = self._thread
        if thread is None or thread.pid != os.getpid():
            self._thread = DeliveryThread(self)
            self._thread.start()

    # --- the API's side ---------------------------------------------------------------------------------
    def emit(self, event_type: str, payload: dict[str, Any] | Callable[[], dict[str, Any]]) -> list[Record]:
        """Log and queue one delivery per webhook subscribed to `event_type`; returns their log rows.
        `payload` may be a function that makes it, called only when someone is subscribed."""
        targets = self.subscriptions.where(lambda w: w["type"] == event_type)
        if not targets:
            return []
        if callable(payload):
            payload = payload()
        if self._queue is not None:
            with self._store_lock:  # the log rows and their queue entries: one transaction
                rows = self._log(targets, event_type, payload)
                self._queue.push([(row["id"], row["webhookUrl"]) for row in rows])
            with self._lock:
                self._start_thread()
            return rows
        rows = self._log(targets, event_type, payload)
        self._hand_over(rows, rows[0]["payload"])
        return rows

    def _log(self, targets: list[Record], event_type: str, payload: dict[str, Any]) -> list[Record]:
        text = _json({"id": self._events.new_id(), "type": event_type, "payload": payload})
        stamp = now_iso()
        return [self.logs.add(partial(_log_row, hook, event_type, text, stamp)) for hook in targets]

    def _hand_over(self, rows: list[Record], text: str) -> None:
        with self._lock:
            for row in rows:
                waiting = self._inbox.get(row["webhookUrl"])
                if waiting is None:
                    waiting = self._inbox[row["webhookUrl"]] = []
                waiting.append(row["id"])
                self._payloads[row["id"]] = text
            self._last_event = time.monotonic()
            self._start_thread()  # the thread collects the inbox itself

    @property
    def unfinished(self) -> int:
        """Deliveries neither delivered nor out of retries (held by an open circuit included); on a shared
        queue, every replica's."""
        return len(self._payloads) if self._queue is None else self._queue.pending()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every delivery is delivered or out of retries, at most `timeout` s (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while (self.unfinished or self._held) and time.monotonic() < deadline:  # `_held`: what this process took
            await asyncio.sleep(0.01)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the delivery thread; deliveries not finished stay as their log rows show them."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._inbox, self._payloads, self._held = {}, {}, {}
        if thread is not None and thread.pid == os.getpid():
            thread.stop(timeout)
            if self._queue is not None:  # what this process held goes to the other replicas at once
                try:
                    self._queue.release(self.owner)
                except Exception:  # the database is gone: the leases run out instead
                    LOGGER.warning("webhook deliveries not released; other replicas take them after the lease")

    # --- called by the delivery thread --------------------------------------------------------------------
    def take(self) -> dict[str, list[Key]]:
        """The deliveries handed over since the last call (a shared queue: claimed now): log ids by URL."""
        if self._queue is not None:
            return self._claim(self._queue)
        with self._lock:
            taken, self._inbox = self._inbox, {}
            return taken

    def _claim(self, queue: DeliveryQueue) -> dict[str, list[Key]]:
        try:
            claimed = queue.claim(self.owner, max(0, MAX_HELD - len(self._held)), LEASE_SECONDS)
        except Exception as exc:  # the database is away (`/healthz` says so) or the store closed: try again later
            LOGGER.debug("webhook queue not read: %r", exc)
            return {}
        taken: dict[str, list[Key]] = {}
        with self._lock:
            for qid, log_id, url in claimed:
                if self._held.get(log_id) == qid:  # still on its way here (a lease that ran out and came back)
                    continue
                self._held[log_id] = qid
                taken.setdefault(url, []).append(log_id)
        return taken

    def delivery(self, url: str, log_id: Key) -> Delivery | None:
        """A waiting delivery, ready for an attempt; None when the store was reset since it was queued (its
        row is gone, or the id now names another event's row) or the transaction that logged it rolled back.
        Without a shared queue the row is read under the store's lock: `emit` hands a delivery over inside
        the API's transaction, and on SQLite this thread's connection does not see the row until that
        transaction commits (read earlier, the delivery was taken for reset and dropped unsent)."""
        if self._queue is not None:  # a claim only finds what committed
            qid, row = self._held.get(log_id), self.logs.get(log_id)
            if qid is None or row is None or not self._queue.owns(qid, self.owner):  # reset, or another's now
                return None
            payload = row["payload"]
        else:
            with self._store_lock:  # waits for the emitting transaction to commit or roll back
                payload, row = self._payloads.get(log_id), self.logs.get(log_id)
            if payload is None or row is None or row.get("payload") != payload:
                return None
        tries = 0 if row["lastResponseStatus"] is None else row["retryAttempts"] + 1
        return Delivery(log_id, row["webhookId"], row["webhookType"], url, payload, tries)

    def finished(self, log_id: Key) -> None:
        with self._lock:
            self._payloads.pop(log_id, None)
            qid = self._held.pop(log_id, None)
        if qid is not None and self._queue is not None:
            self._queue.done(qid, self.owner)

    def may_end(self, thread: DeliveryThread) -> bool:
        """Whether `thread` may end: it is current, has nothing to do and saw no event for `IDLE_SECONDS`.
        Once this says yes, the next event starts a new delivery thread."""
        with self._lock:
            if self._thread is not thread:
                return True
            if self._queue is not None:  # a shared queue: other replicas' events may come while the store is open
                if not self._queue.closed:
                    return False
            elif self._payloads or self._inbox or time.monotonic() - self._last_event < IDLE_SECONDS:
                return False
            self._thread = None
            return True

    def ended(self, thread: DeliveryThread) -> None:
        """A delivery thread ended; if it was not told to (a fault), the next one takes what is waiting."""
        with self._lock:
            if self._thread is thread:
                LOGGER.error("webhook delivery thread ended unexpectedly; deliveries in progress were dropped")
                self._thread = None
                if self._inbox or (self._queue is not None and not self._queue.closed):
                    self._start_thread()

    def current(self, delivery: Delivery) -> Record | None:
        """The delivery's log row, or None when the store was reset since (the row is gone or another's)."""
        row = self.logs.get(delivery.log_id)
        return row if row is not None and row.get("payload") == delivery.payload else None

    def record(self, delivery: Delivery, status: int | None, error: str | None) -> None:
        with self._store_lock:  # one transaction (on SQLite), and a reset cannot come in between
            self._record_unlocked(delivery, status, error)

    def _record_unlocked(self, delivery: Delivery, status: int | None, error: str | None) -> None:
        row = self.current(delivery)
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

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "impilo-mock-webhooks/1"}
        secret = self._secret()
        if secret:
            headers[SECRET_HEADER] = secret
        return headers

    def probe_delay(self, failed_probes: int) -> float:
        schedule = self.schedule or (PROBE_DELAY_WITHOUT_RETRIES,)
        return schedule[min(failed_probes, len(schedule) - 1)]


def _log_row(hook: Record, event_type: str, text: str, stamp: str, key: Key) -> Record:
    """A new delivery's log row: the vendor's WebhookLog fields."""
    return {
        "id": key,
        "webhookId": hook["id"],
        "webhookType": event_type,
        "webhookUrl": hook["url"],
        "payload": text,
        "createTimestamp": stamp,
        "lastResponseStatus": None,
        "retryAttempts": 0,
        "lastRetryTimestamp": None,
        "delivered": False,
    }


def _json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits, lone surrogates: the standard library writes those
        return json.dumps(value)


_DISPATCHERS: weakref.WeakSet[WebhookEmitter] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for dispatcher in list(_DISPATCHERS):
        dispatcher.close(timeout=1.0)
