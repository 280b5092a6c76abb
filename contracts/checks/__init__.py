"""The vendors' documented rules that a schema alone cannot express, as Schemathesis checks.

Importing this package registers every check (and one `before_call` hook) with Schemathesis: the checks every
API gets in `common`, each vendor's own rules in the module named after its spec. Each check looks at one
response and, when it needs more evidence, sends a few bounded follow-up requests with the credentials the
checked request carried. Failures say what was expected and what was received.
"""

import importlib
import pkgutil

from schemathesis.checks import CHECKS

from contracts.checks import common

# every module beside `common` holds one API's rules and is named after its spec (discovered, as vendors are)
VENDOR_MODULES = {
    info.name: importlib.import_module(f"{__name__}.{info.name}")
    for info in pkgutil.iter_modules(__path__)
    if info.name != "common"
}

__all__ = ["VENDOR_MODULES", "common", "of_other_apis"]


def of_other_apis(api: str) -> list[str]:
    """The names of the checks written for other APIs than `api` (a run on `api` leaves them out: Impilo's and
    Legit.Health's rules both judge a `createPatient`, each only its own vendor's)."""
    others = {module.__name__ for name, module in VENDOR_MODULES.items() if name != api}
    return [check.__name__ for check in CHECKS.get_all() if getattr(check, "__module__", None) in others]
