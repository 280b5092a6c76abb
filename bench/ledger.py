"""What a fuzz run was allowed to change, and whether the store changed only that.

A `Ledger` listens to every call Schemathesis makes (a global `after_call` hook) and keeps the status
codes and, for each accepted (2xx) write, the records it targeted (path parameters, by collection; ids
named in its body) and the ids its response handed out. `diff` then compares two `Store.export()`
snapshots: a record that existed before may only change or vanish if an accepted write targeted it (or,
one hop away, a record it refers to or that refers to it), and a new record may only appear if an
accepted write's response named it or it belongs to something an accepted write created or targeted
(or, for the few side-effect collections below, if any accepted write happened in that API).

Ids are compared as text. Impilo's integer ids repeat across collections, so only path targets are
matched by collection; ids from bodies, responses and references are not, which makes the one-hop rules
looser for Impilo than for Heidi and Legit.Health (whose ids are unique strings).
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import schemathesis

from contracts.guard import UNSAFE_METHODS, UNSAFE_OPERATIONS, collection_of

# Collections filled as a side effect of another resource's write, whose ids no response returns.
SIDE_EFFECTS = {
    "impilo": {"webhook_logs", "webhook_attempts", "webhook_events", "webhook_secret"},  # emitted events
    "legit_health": {
        "authTokens"
    },  # issued by GET /patients/{id}/auth-tokens and /practitioners/{id}/auth-tokens (no id returned)
}
# URL segment naming a collection -> its name in the store, where the two differ.
STORE_NAMES = {
    "patient": "patients",
    "site": "sites",
    "item": "items",
    "kit": "kits",
    "device": "devices",
    "order": "orders",
    "webhook": "webhooks",
    "patient-profiles": "profiles",
    "episodes-of-care": "episodesOfCare",
}
KEY_FIELDS = ("id", "session_id")
SAMPLES = 5  # curl commands kept per kind of trouble

Snapshot = dict[str, dict[str, list[dict[str, Any]]]]


def ids_in(value: Any, under_id_key: bool = False) -> set[str]:
    """Every scalar found under an id-like key (`id`, `session_id`, `*Id`, `*_id`, `*Ids`, `*_ids`)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found |= ids_in(item, _id_key(str(key)))
    elif isinstance(value, list):
        for item in value:
            found |= ids_in(item, under_id_key)
    elif under_id_key and isinstance(value, (str, int)) and not isinstance(value, bool):
        found.add(str(value))
    return found


def _id_key(key: str) -> bool:
    return key in KEY_FIELDS or key.endswith(("Id", "_id", "Ids", "_ids"))


@dataclass
class Ledger:
    api: str
    statuses: Counter[int] = field(default_factory=Counter)
    targeted: set[tuple[str, str]] = field(default_factory=set)  # (collection, id) in an accepted write's path
    named: set[str] = field(default_factory=set)  # ids in an accepted write's body
    handed_out: set[str] = field(default_factory=set)  # ids an accepted write's response named
    accepted_writes: int = 0
    server_errors: list[str] = field(default_factory=list)  # curl of the first few 5xx
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def active(self) -> Iterator[Ledger]:
        _ACTIVE.append(self)
        try:
            yield self
        finally:
            _ACTIVE.remove(self)

    def record(self, case: Any, response: Any) -> None:
        status = int(response.status_code)
        method = case.method.upper()
        unsafe = method in UNSAFE_METHODS or case.operation.definition.raw.get("operationId") in UNSAFE_OPERATIONS
        with self._lock:
            self.statuses[status] += 1
            if status >= 500 and len(self.server_errors) < SAMPLES:
                self.server_errors.append(f"{status}: {case.as_curl_command()}")
            if not 200 <= status < 300:
                return
            if not unsafe:
                return
            self.accepted_writes += 1
            path = case.operation.path
            for name, value in (case.path_parameters or {}).items():
                segment = collection_of(path, name) if f"{{{name}}}" in path else ""
                self.targeted.add((STORE_NAMES.get(segment, segment), str(value)))
            self.named |= ids_in(case.body)
            with suppress(ValueError):
                self.handed_out |= ids_in(response.json())

    @property
    def server_error_count(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def snapshot(store: Any) -> Snapshot:
    """A deep copy of `store.export()`: records are mutable dicts the app keeps changing."""
    return copy.deepcopy(store.export())


def _keyed(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records by their id (`#<position>` for the odd record without one, e.g. the webhook secret)."""
    return {str(next((r[k] for k in KEY_FIELDS if k in r), f"#{n}")): r for n, r in enumerate(records)}


def references(key: str, record: dict[str, Any]) -> set[str]:
    """The ids a record names other than its own: `patientId`, `conditionId`, `patient_profile_id`..."""
    return ids_in(record) - {key}


def _explain_added(added: list[tuple[str, dict[str, Any]]], base: set[str]) -> set[str]:
    """Ids of new records an accepted write accounts for: its response named them, or they refer to
    something an accepted write created or targeted (children made with a parent: a patient's conditions,
    the encounters a `track` command schedules in the episode it opens). Repeated until nothing changes."""
    explained: set[str] = set()
    for _ in range(len(added) + 1):
        known = base | explained
        more = {k for k, r in added if k not in explained and (k in known or references(k, r) & known)}
        if not more:
            break
        explained |= more
    return explained


def diff(before: Snapshot, after: Snapshot, ledger: Ledger) -> dict[str, Any]:
    """Per collection of `ledger.api`: counts of unchanged, changed, deleted and new records, and those
    of them no accepted write accounts for; `intact` is False if there is any such record.

    A record may change or vanish if an accepted write targeted it (path, or an id in its body), or it
    refers to an id named in such a body (a cascade: deleting Heidi profiles unlinks their sessions), or
    a targeted or newly created record refers to it (patching an episode of care updates its condition)."""
    ids = {key for _, key in ledger.targeted} | ledger.named | ledger.handed_out
    old_api, new_api = before.get(ledger.api, {}), after.get(ledger.api, {})
    names = sorted(set(old_api) | set(new_api))
    old = {n: _keyed(old_api.get(n, [])) for n in names}
    new = {n: _keyed(new_api.get(n, [])) for n in names}
    added = {n: {k: r for k, r in new[n].items() if k not in old[n]} for n in names}
    new_ok = _explain_added([(k, r) for n in names for k, r in added[n].items()], ids)
    near: set[str] = set()
    for n in names:
        for records in (old[n], new[n]):
            for key, record in records.items():
                if (n, key) in ledger.targeted or key in ledger.named or (key in added[n] and key in new_ok):
                    near |= references(key, record)
    collections: dict[str, Any] = {}
    unexplained = 0
    for n in names:
        changed = [k for k in old[n] if k in new[n] and new[n][k] != old[n][k]]
        deleted = [k for k in old[n] if k not in new[n]]
        side_effect = n in SIDE_EFFECTS.get(ledger.api, set()) and ledger.accepted_writes > 0

        def accounted(key: str, name: str = n) -> bool:
            direct = (name, key) in ledger.targeted or key in ledger.named or key in near
            return direct or bool(references(key, old[name][key]) & ledger.named)

        bad = {
            "changed": [k for k in changed if not accounted(k)],
            "deleted": [k for k in deleted if not accounted(k)],
            "added": [] if side_effect else [k for k in added[n] if k not in new_ok],
        }
        unexplained += sum(map(len, bad.values()))
        collections[n] = {
            "before": len(old[n]),
            "after": len(new[n]),
            "unchanged": len(old[n]) - len(changed) - len(deleted),
            "changed": len(changed),
            "deleted": len(deleted),
            "added": len(added[n]),
            "unexplained": {kind: keys[:SAMPLES] for kind, keys in bad.items()},
        }
        examples = {k: {"before": old[n][k], "after": new[n][k]} for k in bad["changed"][:SAMPLES]}
        examples |= {k: {"after": new[n][k]} for k in bad["added"][:SAMPLES]}
        if examples:
            collections[n]["examples"] = examples
    return {"intact": unexplained == 0, "unexplained": unexplained, "collections": collections}


# Schemathesis offers `after_call` only as a global hook; it forwards to the ledger of the run in progress.
_ACTIVE: list[Ledger] = []


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    for ledger in _ACTIVE:
        ledger.record(case, response)
