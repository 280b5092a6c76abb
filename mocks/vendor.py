"""One vendor API as a declarative row: everything the generic modules need to serve it.

A vendor is its spec (`specs/<name>.yaml`, whose `info.x-mock` gives its slug, base path, default
credentials and error content type) plus one `Vendor` row exported by its package (`mocks.vendors.<name>`):
how its handlers are made, how its credentials are checked, how its errors are worded, which of its
headers carry credentials. Generic code reads the rows it is given and never names a vendor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import specs
from mocks.config import Setting
from mocks.http.errors import ErrorShape, Renderer

__all__ = ["Check", "Checks", "Setting", "Vendor", "owner_of"]

# A credential check: the value sent (an API key, a bearer token) -> claims, or an `unauthorized` raised.
Check = Callable[..., dict[str, Any]]
# A vendor's credentials by field (`Setting.field`) -> its checks by Connexion scheme kind (`apiKey`, `bearer`).
Checks = Callable[[Mapping[str, Any]], Mapping[str, Check]]


@dataclass(frozen=True, eq=False)
class Vendor:
    """One vendor API. The facts of its spec (slug, title, base path, error content type) are read from the
    spec when first needed, never typed here."""

    name: str  # the spec's stem and the package's name: impilo, heidi, legit_health
    handlers: Callable[[Any], Any]  # MockContext -> the object whose methods answer its operationIds
    checks: Checks
    render: Renderer  # its error body (status and content type come from `statuses` and the spec)
    settings: tuple[Setting, ...]  # its configurable credentials: variable, field, default
    hint: Callable[[Mapping[str, Any]], str]  # credentials -> how to send them, one line (landing page, CLI)
    statuses: Mapping[str, int] = field(default_factory=dict)  # error kind -> status, where not `KINDS`'
    # credential header (lower case) -> how the journal shows its value; Authorization and cookies are
    # masked for every API already
    masked_headers: Mapping[str, Callable[[str], str]] = field(default_factory=dict)

    @functools.cached_property
    def facts(self) -> specs.Facts:
        return specs.facts(self.name)

    @property
    def slug(self) -> str:
        return self.facts.slug

    @property
    def title(self) -> str:
        return self.facts.title

    @property
    def vendor_path(self) -> str:
        return self.facts.vendor_path

    @functools.cached_property
    def base_path(self) -> str:  # read on every request: kept
        return self.facts.base_path

    @functools.cached_property
    def errors(self) -> ErrorShape:
        return ErrorShape(self.render, self.facts.error_content_type, self.statuses)

    def defaults(self) -> dict[str, Any]:
        """Default credentials by field: a setting's own, else the spec's value for its variable."""
        found = {}
        for setting in self.settings:
            if setting.default is not None:
                found[setting.field] = setting.default
            elif setting.env in self.facts.credentials:
                found[setting.field] = self.facts.credentials[setting.env]
            else:
                raise KeyError(f"{self.name}: {setting.env} has no default here nor in info.x-mock.credentials")
        return found

    def owns(self, path: str) -> bool:
        base = self.base_path
        return path.startswith(base) and (len(path) == len(base) or path[len(base)] == "/")


def owner_of(path: str, vendors: Iterable[Vendor]) -> Vendor | None:
    """The vendor whose base path prefixes `path`, if any."""
    return next((vendor for vendor in vendors if vendor.owns(path)), None)
