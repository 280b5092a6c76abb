"""The vendor APIs the mock serves: every subpackage exporting a `VENDOR` row (`mocks.vendor.Vendor`).

Adding a vendor is adding its spec (`specs/<name>.yaml`) and its package here; nothing else lists them.
"""

from __future__ import annotations

import importlib
import pkgutil

from mocks.vendor import Vendor

__all__ = ["VENDORS", "discover"]


def discover() -> tuple[Vendor, ...]:
    """The `VENDOR` row of every subpackage of this package, by name."""
    found = []
    for module in pkgutil.iter_modules(__path__, f"{__name__}."):
        if module.ispkg:
            row = getattr(importlib.import_module(module.name), "VENDOR", None)
            if not isinstance(row, Vendor):
                raise TypeError(f"{module.name} exports no VENDOR (a mocks.vendor.Vendor row)")
            if module.name != f"{__name__}.{row.name}":
                raise ValueError(f"{module.name}.VENDOR is named {row.name!r}: a vendor's package is named as it")
            found.append(row)
    return tuple(sorted(found, key=lambda vendor: vendor.name))


VENDORS: tuple[Vendor, ...] = discover()
