"""The vendors' documented examples (tests/data/<api>/), read as the text a user would paste."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "data"


def example(api: str, name: str) -> str:
    """The text of one example, byte for byte, e.g. example("impilo", "create-patient-full.json")."""
    return (DATA / api / name).read_text(encoding="utf-8")


def example_json(api: str, name: str) -> Any:
    return json.loads(example(api, name))


# The Impilo guides' smallest patient, and the order lines of their order examples (items and kits 1000-1003).
PATIENT_MINIMAL: dict[str, Any] = example_json("impilo", "create-patient-minimal.json")
ORDER_LINES: dict[str, Any] = {
    lines: example_json("impilo", "create-site-order.json")[lines] for lines in ("orderItems", "orderKits")
}
