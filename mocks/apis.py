"""The table of served APIs: one row per vendor, the single place names, slugs and base paths meet."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Api:
    name: str  # spec stem, handler package, contract project: impilo, heidi, legit_health
    slug: str  # URL prefix: impilo, heidi, legit-health
    title: str
    vendor_path: str  # the vendor's own base path, served under /<slug>

    @property
    def base_path(self) -> str:
        return f"/{self.slug}{self.vendor_path}"


APIS: tuple[Api, ...] = (
    Api("impilo", "impilo", "Impilo API", "/api/v3"),
    Api("heidi", "heidi", "Heidi Health API", "/api/v2/ml-scribe/open-api"),
    Api("legit_health", "legit-health", "Legit.Health API", "/deep-link/v1"),
)
BY_NAME = {api.name: api for api in APIS}


def api_for_path(path: str) -> Api | None:
    """The API whose base path prefixes `path`, if any."""
    return next((api for api in APIS if path == api.base_path or path.startswith(api.base_path + "/")), None)
