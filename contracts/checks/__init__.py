"""The vendors' documented rules that a schema alone cannot express, as Schemathesis checks.

Importing this package registers every check (and one `before_call` hook) with Schemathesis: the checks every
API gets in `common`, each vendor's own rules in the module named after its spec. Each check looks at one
response and, when it needs more evidence, sends a few bounded follow-up requests with the credentials the
checked request carried. Failures say what was expected and what was received.
"""

from contracts.checks import common, heidi, impilo, legit_health

__all__ = ["common", "heidi", "impilo", "legit_health"]
