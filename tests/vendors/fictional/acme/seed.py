"""Acme's seed: two widgets, the same for every seed."""

from __future__ import annotations

from mocks.state.store import Collection

WIDGETS = ({"name": "Sprocket", "size": 3}, {"name": "Cog", "size": 1})


def seed_widgets(widgets: Collection) -> None:
    for widget in WIDGETS:
        widgets.add(lambda key, widget=widget: {"id": key, **widget})
