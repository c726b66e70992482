"""Logging in to the console in headless Chromium, for the console's browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, expect

from tests.live_gateway import PASSWORD, LiveGateway


@contextmanager
def console_page(browser: Browser, gateway: LiveGateway, username: str, password: str = PASSWORD) -> Iterator[Page]:
    """A logged-in console page in its own browser context (its own cookies: one person at one desk);
    fails the test on a page error or a Content-Security-Policy violation."""
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and "CSP" in m.text else None,
    )
    try:
        page.goto(f"{gateway.url}/console/")
        expect(page.locator("#login-view")).to_be_visible()
        page.fill("#login-username", username)
        page.fill("#login-password", password)
        page.click("#login-submit")
        expect(page.locator("#nav")).to_be_visible()
        yield page
        assert errors == [], errors
    finally:
        context.close()
