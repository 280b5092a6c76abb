"""The landing page (`GET /`) in a real headless browser: Debian's Chromium driven by Playwright.

`make test` installs Debian's `chromium` when it is missing (as root); without it these tests fail with
the command to run, they do not skip. A screenshot is saved as `reports/landing.png`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.helpers import IMPILO_KEY, LEGIT_AUTH, base
from tests.support.live import LiveServer
from tests.support.receiver import running_receiver

CHROMIUM = Path("/usr/bin/chromium")
# Headless on this machine: no sandbox as root, and no background traffic (the network is closed).
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
REPORTS = Path(__file__).resolve().parents[2] / "reports"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the landing page is tested in Debian's Chromium. Run `make test` as root "
            "(it installs it), or `apt-get update && apt-get install -y chromium`.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = browser.new_page(viewport={"width": 1360, "height": 1000})
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on("console", lambda message: message.type == "error" and problems.append(message.text))
    yield opened
    opened.close()
    assert problems == [], f"the page logged errors: {problems}"


def make_traffic(url: str, hook_url: str) -> None:
    """What a frontend session leaves behind: calls, a forced error, a webhook delivery and an email."""
    with httpx.Client(base_url=url) as http:
        http.post(f"{base('impilo')}/webhook", json={"type": "patient.created", "url": hook_url}, headers=IMPILO_KEY)
        http.get(f"{base('impilo')}/patient", params={"size": 5}, headers=IMPILO_KEY)
        http.get(f"{base('impilo')}/patient/1234", headers={**IMPILO_KEY, "Prefer": "code=404"})
        http.post(
            f"{base('legit_health')}/patients",
            json={"externalId": "web-0001", "firstName": "Ana", "lastName": "Ruiz", "email": "ana.ruiz@example.com"},
            headers=LEGIT_AUTH,
        )
        http.get(f"{base('heidi')}/sessions/1234567890")


def test_landing_page_shows_the_apis_live_traffic_and_resets_when_used_in_a_browser(page: Any) -> None:
    from playwright.sync_api import expect

    with LiveServer(seed=0) as server, running_receiver() as receiver:
        seeded = httpx.get(f"{server.url}/__mock/summary").json()["collections"]["impilo"]["patients"]
        page.goto(f"{server.url}/")
        expect(page.locator(".api h3")).to_have_text(["Heidi Health API", "Impilo API", "Legit.Health API"])
        expect(page.locator(".api").nth(1)).to_contain_text("Impilo-API-Key: mock-impilo-api-key")
        expect(page.locator(".api a", has_text="Swagger UI")).to_have_count(3)
        expect(page.locator("#live")).to_contain_text("live")
        patients = page.locator('[data-collection="impilo.patients"] b')
        expect(patients).to_have_text(str(seeded))
        expect(page.locator("#requests-empty")).to_be_visible()

        make_traffic(server.url, receiver.url)
        created = httpx.post(f"{server.url}{base('impilo')}/patient", json={"firstName": "Ann", "lastName": "Page"},
                             headers=IMPILO_KEY)  # fmt: skip
        assert created.status_code == 201
        newest = page.locator("#requests tr.entry").first
        expect(newest).to_contain_text(f"POST{base('impilo')}/patient201")
        expect(page.locator("#requests tr.entry")).to_have_count(6)
        expect(page.locator("#requests tr.entry", has_text="forced")).to_contain_text("404")
        expect(patients).to_have_text(str(seeded + 1))
        expect(page.locator("#webhooks tbody tr")).to_have_count(1)
        expect(page.locator("#outbox tbody tr")).not_to_have_count(0)
        REPORTS.mkdir(exist_ok=True)
        page.screenshot(path=str(REPORTS / "landing.png"), full_page=True)
        newest.click()
        expect(page.locator("tr.detail")).to_contain_text('"impilo-api-key": "***"')
        expect(page.locator("tr.detail")).to_contain_text('"lastName": "Page"')

        page.click("#reset")
        expect(page.locator(".toast")).to_contain_text("Reset to seed 0")
        expect(patients).to_have_text(str(seeded))
        expect(page.locator("#requests-empty")).to_be_visible()
        expect(page.locator("#outbox-empty")).to_be_visible()
        assert (
            httpx.get(f"{server.url}{base('impilo')}/patient/{created.json()['id']}", headers=IMPILO_KEY).status_code
            == 404
        )


def test_landing_page_asks_for_the_admin_token_and_then_shows_and_resets_the_state_when_shared(browser: Any) -> None:
    from playwright.sync_api import expect

    token = "landing-page-admin-token-0123"
    page = browser.new_page(viewport={"width": 1360, "height": 1000})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # Chromium logs each refused fetch (401, 403) as a console error: those are the point here.
    page.on("console", lambda m: m.type == "error" and "status of 40" not in m.text and problems.append(m.text))
    try:
        with LiveServer(seed=0, admin_token=token, listen=("0.0.0.0", 8000)) as server:
            summary = httpx.get(f"{server.url}/__mock/summary", headers={"Authorization": f"Bearer {token}"}).json()
            page.goto(f"{server.url}/")
            expect(page.locator(".api").nth(1)).to_contain_text("Impilo-API-Key: $IMPILO_API_KEY")
            expect(page.locator("#token-form")).to_be_visible()
            expect(page.locator("#live")).to_contain_text("admin token needed")
            page.fill("#token", "not-the-admin-token-at-all")
            page.click("#token-form button")
            expect(page.locator("#token-form")).to_be_visible()
            page.fill("#token", token)
            page.click("#token-form button")
            expect(page.locator("#token-form")).to_be_hidden()
            expect(page.locator("#live")).to_contain_text("live")
            patients = page.locator('[data-collection="impilo.patients"] b')
            expect(patients).to_have_text(str(summary["collections"]["impilo"]["patients"]))
            page.click("#reset")
            expect(page.locator(".toast")).to_contain_text("Reset to seed 0")
    finally:
        page.close()
    assert problems == [], f"the page logged errors: {problems}"
