"""Vendor-rule checks that a schema alone cannot express, registered with Schemathesis.

(Placeholder module created by the runner's author; the checks are being written now.)
"""

from __future__ import annotations
