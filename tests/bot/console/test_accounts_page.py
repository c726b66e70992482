"""The Accounts page and the audit log in a real headless Chromium, with a second browser for the counsellor."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

import bot.console.events
from tests.bot.console.browser import console_page
from tests.live_gateway import PASSWORD, LiveGateway

pytestmark = pytest.mark.browser

XSS = "<img src=x onerror=window.__xss=1>"
NINA_PASSWORD = "tea with mint in sid"


def test_an_admin_creates_a_counsellor_and_deactivating_them_logs_them_out(
    chromium: Browser, console_gateway: LiveGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the stream's own session check must not beat the counsellor's next click to it
    monkeypatch.setattr(bot.console.events, "KEEPALIVE", 600.0)
    gateway = console_gateway
    gateway.add_user("root", "admin")
    conversation = gateway.conversation("web-session-browser-accounts", "fa")
    ticket = gateway.open_handoff(conversation)
    # someone tries a user name made to break the audit page
    assert httpx.post(f"{gateway.url}/console/api/login", json={"username": XSS, "password": "nope"}).status_code == 401

    with console_page(chromium, gateway, "root") as admin:
        expect(admin.locator("#tab-accounts")).to_be_visible()
        admin.click("#tab-accounts")
        expect(admin.locator('#accounts tr[data-username="root"] .role')).to_have_text("admin")

        # a new counsellor: the two passwords must match, then the account is listed
        admin.fill("#new-username", "nina")
        admin.fill("#new-password", NINA_PASSWORD)
        admin.fill("#new-password-again", NINA_PASSWORD + "!")
        admin.select_option("#new-role", "counsellor")
        admin.check('#new-languages input[value="fa"]')
        admin.click("#new-create")
        expect(admin.locator("#account-new-error")).to_have_text("the two passwords differ")
        expect(admin.locator('#accounts tr[data-username="nina"]')).to_have_count(0)
        admin.fill("#new-password-again", NINA_PASSWORD)
        admin.click("#new-create")
        nina_row = admin.locator('#accounts tr[data-username="nina"]')
        expect(nina_row.locator(".role")).to_have_text("counsellor")
        expect(nina_row.locator(".languages")).to_have_text("fa")
        expect(nina_row.locator(".status")).to_have_text("active")
        expect(nina_row.locator(".last-login")).to_have_text("never")
        expect(admin.locator("#new-username")).to_have_value("")

        # the counsellor logs in at her own desk and sees the queue
        with console_page(chromium, gateway, "nina", NINA_PASSWORD) as nina:
            expect(nina.locator("#tab-accounts")).to_be_hidden()
            expect(nina.locator("#tab-audit")).to_be_hidden()
            item = nina.locator(f'#queue li[data-handoff-id="{ticket.id}"]')
            expect(item).to_be_visible()

            admin.click("#tab-accounts")  # reload: nina has logged in now
            expect(nina_row.locator(".last-login")).not_to_have_text("never")
            nina_row.locator("button.deactivate").click()
            expect(nina_row.locator(".status")).to_have_text("deactivated")
            expect(nina_row.locator("button.reactivate")).to_be_visible()

            # her next action meets the login form, with why
            item.locator("button.claim").click()
            expect(nina.locator("#login-view")).to_be_visible()
            expect(nina.locator("#login-notice")).to_have_text("an admin deactivated this account")
            expect(nina.locator("#work-view")).to_be_hidden()
            assert gateway.ctx.handoffs.get(ticket.id).status == "waiting"
            nina.fill("#login-username", "nina")
            nina.fill("#login-password", NINA_PASSWORD)
            nina.click("#login-submit")
            expect(nina.locator("#login-error")).to_have_text("wrong user name or password")

        # the audit log: who did what to whom, filtered, with what anyone typed shown as text
        admin.click("#tab-audit")
        rows = admin.locator("#audit tr[data-action]")
        expect(rows.first).to_be_visible()
        failed = admin.locator('#audit tr[data-action="login_failed"] .actor')
        expect(failed.last).to_have_text(XSS)  # the oldest: before nina's failed login
        admin.fill("#audit-user", "nina")
        admin.click("#audit-load")
        expect(admin.locator('#audit tr[data-action="user_created"]')).to_have_count(1)  # root's is filtered out
        expect(admin.locator('#audit tr[data-action="user_deactivated"] .actor')).to_have_text("root")
        expect(admin.locator('#audit tr[data-action="user_created"] .target')).to_have_text("nina")
        expect(admin.locator('#audit tr[data-action="transcript_read"]')).to_have_count(0)
        expect(admin.locator("#audit tr[data-action]").first).to_be_visible()
        assert all("nina" in (row.locator(".actor").text_content(), row.locator(".target").text_content())
                   for row in admin.locator("#audit tr[data-action]").all())
        href = admin.get_attribute("#audit-csv", "href")
        assert href is not None and "user=nina" in href and "format=csv" in href
        admin.wait_for_timeout(200)  # an injected onerror would have run by now
        assert admin.evaluate("typeof window.__xss") == "undefined"
        assert admin.locator("#audit img").count() == 0


def test_an_idle_session_shows_the_login_form_with_a_reason(chromium: Browser, console_gateway: LiveGateway) -> None:
    import datetime as dt

    from bot.console.sessions import SessionPolicy

    gateway = console_gateway
    gateway.add_user("sara", "supervisor")
    later = {"by": dt.timedelta(0)}
    gateway.ctx.console_sessions = SessionPolicy(
        dt.timedelta(minutes=30), dt.timedelta(hours=12), lambda: dt.datetime.now(dt.timezone.utc) + later["by"])
    with console_page(chromium, gateway, "sara") as page:
        expect(page.locator("#tab-audit")).to_be_visible()
        expect(page.locator("#tab-accounts")).to_be_hidden()
        expect(page.locator("body")).to_have_attribute("data-live", "live")  # the page has settled
        later["by"] = dt.timedelta(minutes=31)
        page.click("#tab-audit")
        expect(page.locator("#login-view")).to_be_visible()
        expect(page.locator("#login-notice")).to_have_text(
            "your session ended after 30 minutes without activity; log in again")
        page.fill("#login-username", "sara")
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        expect(page.locator("#login-view")).to_be_hidden()
        expect(page.locator("#login-notice")).to_be_hidden()
