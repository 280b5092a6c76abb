"""What one mock app owns: config, store, fake-data source, outbox and webhook dispatcher.

Made once per `create_app` call and handed to each API's handler object; nothing lives at module level.
The store is in memory, or in `config.state_file` (SQLite) when one is set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mocks.config import MockConfig
from mocks.http.fast_path import Stats
from mocks.state.backends import open_store
from mocks.state.fakedata import SchemaFaker
from mocks.state.outbox import Outbox
from mocks.state.store import INTERNAL_API, StateError, Store
from mocks.values import is_database, shown_state
from mocks.vendor import Vendor


def another_seed(state_file: str, found: int, asked: int) -> str:
    """Why a state file holding another seed's data is refused, and the two ways on."""
    named = f"STATE {shown_state(state_file)}" if is_database(state_file) else f"STATE file {state_file}"
    return (
        f"{named} holds the data of SEED={found}, not of SEED={asked}: start with SEED={found} "
        f"to use it, or delete the file (or pick another STATE=...) to start over with SEED={asked}"
    )


@dataclass
class MockContext:
    config: MockConfig
    specs: dict[str, dict[str, Any]]  # API name -> its resolved spec
    vendors: tuple[Vendor, ...] = ()  # what the app serves
    store: Store = field(init=False)
    faker: SchemaFaker = field(init=False)
    outbox: Outbox = field(init=False)
    services: dict[str, Any] = field(default_factory=dict)
    dispatch: Stats = field(default_factory=Stats)  # what the compiled dispatcher answered

    def start(self) -> None:
        """Seed an empty store; a state file kept from an earlier run holds this seed's data already.

        A file holding another seed's data is refused (`StateError`), never re-seeded: it is someone's
        state (a running mock's, or an earlier run's), and `POST /__mock/reset` is how to wipe it. The check
        and the seeding share one write transaction: of several workers starting on one file, exactly one
        seeds and the others find its data; of two mocks with different seeds, the second is refused.
        """
        with self.store.lock:
            found = self.store.seeded_with()
            if found is None:
                self.reset()
                return
        if found != self.config.seed:
            self.store.close()
            raise StateError(another_seed(str(self.config.state_file), found, self.config.seed))

    def reset(self) -> None:
        """Back to the seed state: empty every collection and the outbox, then let each API seed itself."""
        with self.store.lock:
            self.store.clear()
            for service in self.services.values():
                service.seed()
            self.store.mark_seeded(self.config.seed)

    def __post_init__(self) -> None:
        self.store = open_store(self.config.seed, self.config.state_file)
        self.faker = SchemaFaker(self.config.seed)
        self.outbox = Outbox(self.store.collection(INTERNAL_API, "outbox"), self.store.lock)

    def schema(self, api: str, name: str) -> dict[str, Any]:
        """A resolved component schema of one API's spec, e.g. `schema("impilo", "Patient")`."""
        return self.specs[api]["components"]["schemas"][name]
