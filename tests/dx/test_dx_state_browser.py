"""The landing page's state browser (mocks/dx/static/browser.js) in a real headless browser: Debian's Chromium
driven by Playwright, as tests/dx/test_dx_landing.py does. Records per API and collection, searched, opened
as JSON and exported as state fixture files that the mock loads back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dx.test_dx_landing import CHROMIUM, CHROMIUM_FLAGS
from tests.support.helpers import LEGIT_AUTH, base
from tests.support.live import LiveServer

PATIENT = {"externalId": "zq-0001", "firstName": "Zed", "lastName": "Quux", "email": "zed.quux@example.com"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` as root (it installs it), or "
                    "`apt-get update && apt-get install -y chromium`.", pytrace=False)  # fmt: skip
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 1000}, accept_downloads=True)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on("console", lambda message: message.type == "error" and problems.append(message.text))
    yield opened
    context.close()
    assert problems == [], f"the page logged errors: {problems}"


def downloaded(page: Any, selector: str) -> Any:
    with page.expect_download() as info:
        page.click(selector)
    return json.loads(Path(info.value.path()).read_text())


def test_state_browser_finds_opens_and_exports_a_record_that_loads_back_when_used_in_a_browser(page: Any) -> None:
    from playwright.sync_api import expect

    with LiveServer(seed=0) as server:
        created = httpx.post(f"{server.url}{base('legit_health')}/patients", json=PATIENT, headers=LEGIT_AUTH)
        assert created.status_code == 201
        page.goto(f"{server.url}/")
        page.click('[data-collection="legit_health.patients"]')  # a count in "Stored records" opens it here
        expect(page.locator("#browse-api")).to_have_value("legit_health")
        expect(page.locator("#browse-collection")).to_have_value("patients")
        expect(page.locator("#records-count")).to_have_text("23 of 23")  # the seed's 22, and Zed

        page.fill("#browse-search", "quux")
        rows = page.locator("#records tr.entry")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(created.json()["id"])
        rows.first.click()
        expect(page.locator("#records tr.detail pre")).to_contain_text('"externalId": "zq-0001"')

        shown = downloaded(page, "#export-shown")
        stored = next(p for p in httpx.get(f"{server.url}/__mock/state").json()["legit_health"]["patients"]
                      if p["externalId"] == "zq-0001")  # fmt: skip
        assert shown == {"legit_health": {"patients": [stored]}}
        everything = downloaded(page, "#export-all")
        assert everything == httpx.get(f"{server.url}/__mock/fixtures").json()

        assert httpx.post(f"{server.url}/__mock/reset").status_code == 200
        path = f"{server.url}{base('legit_health')}/patients/{stored['id']}"
        assert httpx.get(path, headers=LEGIT_AUTH).status_code == 404
        assert httpx.post(f"{server.url}/__mock/fixtures", json=shown).status_code == 200
        assert httpx.get(path, headers=LEGIT_AUTH).json()["lastName"] == "Quux"

        page.select_option("#browse-api", "impilo")
        page.select_option("#browse-collection", "webhook_logs")
        page.fill("#browse-search", "")
        expect(page.locator("#export-shown")).to_be_disabled()  # not a collection fixtures hold
