"""Which requests must take Connexion's full chain: each feature installed inside the compiled dispatcher
declares its own rule, and the dispatcher hands those requests on.

The dispatcher (`mocks.http.fast_path`) answers a request alone, skipping every middleware inside it in
Connexion's list. A feature that acts there (CORS, `Prefer` scenarios, forced and injected responses, the
access log) states which requests it must see, as a `FullChain` rule: a middleware class gives it from a
`full_chain` classmethod taking the options it is installed with; a class that is not ours is given one
by the app factory (`declared`). `full_chain_rules` collects them from the list and refuses a middleware
that declares none, so a new feature cannot be skipped silently on fast-served requests.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

__all__ = ["FullChain", "NeedsFullChain", "every_request", "full_chain_rules"]

# (API of the matched operation, scope, request headers by lower-case name) -> whether the feature must see it
NeedsFullChain = Callable[[str, Scope, Mapping[bytes, bytes]], bool]


@dataclass(frozen=True, slots=True)
class FullChain:
    """One feature's rule. `needs` None: the feature needs no request (its part of a fast answer, if any, is
    done by the dispatcher, as the journal's record is)."""

    feature: str
    needs: NeedsFullChain | None = None

    @property
    def reason(self) -> str:
        """How the requests it declines are counted (`GET /__mock/summary`)."""
        return f"needs-full-chain:{self.feature}"


def every_request(api: str, scope: Scope, headers: Mapping[bytes, bytes]) -> bool:
    """The rule of a feature that is on for every request (the fast path then serves nothing)."""
    return True


def full_chain_rules(
    middlewares: Sequence[Any], dispatcher: type, own: Collection[Any], declared: Mapping[type, FullChain]
) -> tuple[FullChain, ...]:
    """The rules of the middlewares inside `dispatcher` in Connexion's list (entries are classes or
    `functools.partial`s of them, outermost first), except Connexion's own (`own`), whose work the plans
    do. TypeError for one that declares no rule; no rules when the dispatcher is not installed."""
    classes = [getattr(entry, "func", entry) for entry in middlewares]
    if dispatcher not in classes:
        return ()
    rules = []
    for entry in middlewares[classes.index(dispatcher) + 1 :]:
        middleware = getattr(entry, "func", entry)
        if middleware in own:
            continue
        if middleware in declared:
            rules.append(declared[middleware])
            continue
        declare = getattr(middleware, "full_chain", None)
        if declare is None:
            name = getattr(middleware, "__qualname__", repr(middleware))
            raise TypeError(
                f"{name} runs inside the compiled dispatcher but declares no full-chain rule (a `full_chain` "
                "classmethod returning mocks.http.full_chain.FullChain): requests the dispatcher answers "
                "alone would skip it"
            )
        rules.append(declare(**getattr(entry, "keywords", {})))
    return tuple(rules)
