"""The delivery thread of `mocks.webhooks.emit`: its event loop, the HTTP client and one circuit per receiver.

`WebhookEmitter` (in `mocks.webhooks.emit`) hands deliveries over and owns the log; everything here runs
on the thread, which is the only one to touch a `Circuit`. The breaker's rules are described in
`mocks.webhooks.emit`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import deque
from contextlib import suppress
from typing import Protocol

import uvloop

from mocks.state.store import Key
from mocks.webhooks.client import WebhookClient
from mocks.webhooks.policy import Admission, WebhookPolicy

LOGGER = logging.getLogger("mocks.webhooks.emit")
IDLE_SECONDS = 5.0  # the thread ends after this long with nothing to deliver and no new event
POLL_SECONDS = 0.02  # how often the thread collects new events
FAILED = "connection failed"  # the error of every attempt that got no HTTP answer (not a timeout)


class Emitter(Protocol):
    """What the delivery thread asks of the emitter that started it (`mocks.webhooks.emit.WebhookEmitter`)."""

    schedule: tuple[float, ...]
    timeout: float
    policy: WebhookPolicy
    breaker_threshold: int
    max_in_flight: int

    def take(self) -> dict[str, list[Key]]: ...
    def delivery(self, url: str, log_id: Key) -> Delivery | None: ...
    def finished(self, log_id: Key) -> None: ...
    def may_end(self, thread: DeliveryThread) -> bool: ...
    def ended(self, thread: DeliveryThread) -> None: ...
    def record(self, delivery: Delivery, status: int | None, error: str | None) -> None: ...
    def headers(self) -> dict[str, str]: ...
    def probe_delay(self, failed_probes: int) -> float: ...


class Delivery:
    """One event on its way to one URL, while an attempt is made (waiting, it is just its log id).
    `payload` is the log row's JSON text; `tries` counts the attempts made."""

    __slots__ = ("event_type", "log_id", "payload", "tries", "url", "webhook_id")

    def __init__(self, log_id: Key, webhook_id: Key, event_type: str, url: str, payload: str, tries: int) -> None:
        self.log_id, self.webhook_id, self.event_type = log_id, webhook_id, event_type
        self.url, self.payload, self.tries = url, payload, tries


class Circuit:
    """The breaker and the queue of one receiver URL; used by the delivery thread only."""

    __slots__ = ("failures", "in_flight", "is_open", "probe_at", "probes_failed", "probing", "ready", "timer")

    def __init__(self) -> None:
        self.failures = 0  # consecutive failed attempts
        self.is_open = False
        self.probing = False  # a probe is in flight
        self.probes_failed = 0
        self.probe_at = 0.0  # loop time of the next probe, while open
        self.in_flight = 0
        self.ready: deque[Key] = deque()  # log ids  # due now, waiting for a slot or for the circuit
        self.timer: asyncio.TimerHandle | None = None  # wakes the queue for the next probe


class DeliveryThread:
    """The delivery thread of one dispatcher: an event loop, an HTTP client and the receivers' circuits."""

    def __init__(self, dispatcher: Emitter) -> None:
        self.d = dispatcher
        self.pid = os.getpid()
        self.loop = uvloop.new_event_loop()
        self.circuits: dict[str, Circuit] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.client: WebhookClient | None = None
        self.done: asyncio.Future[None] | None = None
        self.stopping = False
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
            self.d.ended(self)

    async def _serve(self) -> None:
        self.done = self.loop.create_future()
        self.client = WebhookClient(self.d.timeout, max_idle=self.d.max_in_flight)
        try:
            self.take_inbox()
            self.loop.call_later(IDLE_SECONDS, self._check_idle)
            await self.done
            self.stopping = True  # start nothing new
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
        if self.d.may_end(self):
            self._quit()
        else:
            self.loop.call_later(IDLE_SECONDS, self._check_idle)

    def take_inbox(self) -> None:
        """Collect what `emit` handed over, now and every `POLL_SECONDS`: a few wake-ups a second, where
        waking the thread for each event cost the API's thread ~10% of its time (switches, GIL)."""
        if self.stopping:
            return
        self.loop.call_later(POLL_SECONDS, self.take_inbox)
        taken = self.d.take()
        for url, log_ids in taken.items():
            settled = self.d.policy.settled(url)
            if settled is not None and settled.refusal is not None:
                for log_id in log_ids:
                    self._refuse(url, log_id, settled.refusal)
                continue
            self._circuit(url).ready.extend(log_ids)
            self._pump(url)

    def _refuse(self, url: str, log_id: Key, refusal: str) -> None:
        """Log, without contacting anything, a delivery the policy refuses whatever DNS says."""
        try:
            delivery = self.d.delivery(url, log_id)
            if delivery is not None:
                delivery.tries = 1
                self.d.record(delivery, None, refusal)
        except Exception:  # a fault of the store: say so, and go on with the other deliveries
            LOGGER.exception("webhook delivery %s to %s not logged", log_id, url)
        self.d.finished(log_id)

    def _circuit(self, url: str) -> Circuit:
        circuit = self.circuits.get(url)
        if circuit is None:
            circuit = self.circuits[url] = Circuit()
        return circuit

    def _pump(self, url: str) -> None:
        """Start what the circuit allows: closed, up to the cap; open, one probe once it is due."""
        circuit = self.circuits.get(url)
        if circuit is None or self.stopping:
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

    def _start(self, url: str, circuit: Circuit, log_id: Key, probe: bool) -> None:
        circuit.in_flight += 1
        task = self.loop.create_task(self._attempt(url, circuit, log_id, probe))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _attempt(self, url: str, circuit: Circuit, log_id: Key, probe: bool) -> None:
        try:
            delivery = self.d.delivery(url, log_id)
            if delivery is None:  # the store was reset: nothing to deliver any more
                circuit.probing = circuit.probing and not probe
                self.d.finished(log_id)
                return
            admission = self.d.policy.settled(url) or await self._admit(url)  # DNS only for a listed name
            delivery.tries += 1
            if admission.refusal is not None:  # e.g. a listed name resolving to the mock: logged, not retried
                circuit.probing = circuit.probing and not probe
                self.d.record(delivery, None, admission.refusal)
                self.d.finished(log_id)
                return
            status, error = await self._post(delivery, admission.addresses)
            self.d.record(delivery, status, error)
            self._settle(circuit, delivery, probe, error is None)
        except Exception:  # a fault of the mock itself (the store): say so, and do not keep the delivery forever
            LOGGER.exception("webhook delivery %s to %s abandoned", log_id, url)
            circuit.probing = circuit.probing and not probe
            self.d.finished(log_id)
        finally:
            circuit.in_flight -= 1
            self._pump(url)

    async def _admit(self, url: str) -> Admission:
        """The policy's verdict on `url` now; a host that does not resolve in time is a failed attempt."""
        try:
            async with asyncio.timeout(self.d.timeout):
                return await self.d.policy.admit(url)
        except TimeoutError:
            return Admission()

    async def _post(self, delivery: Delivery, addresses: tuple[str, ...]) -> tuple[int | None, str | None]:
        """One attempt, to the addresses the policy checked. Its error says no more than the receiver's owner
        needs: which of refused, reset, unreachable or not HTTP it was stays in the debug log."""
        assert self.client is not None
        if not addresses:
            return None, FAILED
        try:
            status = await self.client.post(delivery.url, delivery.payload.encode(), self.d.headers(), addresses)
        except TimeoutError:
            return None, f"timeout: no answer within {self.d.timeout:g} s"
        except Exception as exc:  # refused, reset, unreachable, malformed answer
            LOGGER.debug("webhook delivery %s to %s failed: %r", delivery.log_id, delivery.url, exc)
            return None, FAILED
        return status, None if 200 <= status < 300 else f"HTTP {status}"

    def _settle(self, circuit: Circuit, delivery: Delivery, probe: bool, ok: bool) -> None:
        """Move the breaker on after one attempt, and retry or finish the delivery."""
        if probe:
            circuit.probing = False
        if ok:
            circuit.failures, circuit.probes_failed, circuit.is_open = 0, 0, False
            self.d.finished(delivery.log_id)
            return
        circuit.failures += 1
        now = self.loop.time()
        if circuit.is_open and probe:
            circuit.probes_failed += 1
            circuit.probe_at = now + self.d.probe_delay(circuit.probes_failed)
        elif not circuit.is_open and circuit.failures >= self.d.breaker_threshold:
            circuit.is_open, circuit.probes_failed = True, 0
            circuit.probe_at = now + self.d.probe_delay(0)
        if delivery.tries > len(self.d.schedule):
            self.d.finished(delivery.log_id)  # out of retries: its row says so
            return
        self.loop.call_later(self.d.schedule[delivery.tries - 1], self._due, delivery.url, delivery.log_id)

    def _due(self, url: str, log_id: Key) -> None:
        self._circuit(url).ready.append(log_id)
        self._pump(url)
