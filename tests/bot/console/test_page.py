"""The console page in a real headless Chromium: live queue, claim, reply, service card, close.

The gateway runs for real (no Rasa); the test plays the person by writing into the app's store."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from bot.gateway import tables as t
from bot.i18n.responses import Responses
from tests.bot.console.browser import console_page
from tests.live_gateway import PASSWORD, LiveGateway

pytestmark = pytest.mark.browser

RESPONSES = Responses.from_domain_dir()
XSS = "<img src=x onerror=window.__xss=1>"


def wait_live(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-live", "live")


def transcript_texts(gateway: LiveGateway, conversation: Any) -> list[tuple[str, str]]:
    return [(m["author"], m["text"]) for m in gateway.ctx.gateway.store.transcript(conversation.id)]


@pytest.mark.parametrize(
    ("language", "person_text", "direction"),
    [
        ("en", "Hello, I need a doctor for my child in Belgrade.", "ltr"),
        ("ar", "مرحبا، أحتاج إلى طبيب لطفلي في بلغراد.", "rtl"),
    ],
    ids=["en-ltr", "ar-rtl"],
)
def test_a_counsellor_takes_a_handoff_from_the_live_queue_to_the_close(
    chromium: Browser, console_gateway: LiveGateway, language: str, person_text: str, direction: str
) -> None:
    gateway = console_gateway
    gateway.add_user("amina", "counsellor", PASSWORD, ("en", "ar"))
    with console_page(chromium, gateway, "amina") as page:
        wait_live(page)
        expect(page.locator("#queue-empty")).to_be_visible()
        page.evaluate("window.__sameDocument = 42")

        # a person asks for a counsellor after the page loaded: the queue shows it without a reload
        conversation = gateway.conversation(f"web-session-browser-{language}", language)
        gateway.person_says(conversation, person_text)
        ticket = gateway.open_handoff(conversation, category="health", city="belgrade")
        item = page.locator(f'#queue li[data-handoff-id="{ticket.id}"]')
        expect(item).to_be_visible()
        expect(item.locator(".language")).to_contain_text(language)
        expect(item.locator(".place")).to_have_text("belgrade")
        expect(item.locator(".channel")).to_have_text("web")
        expect(item.locator(".team")).to_have_text("Putokaz counsellors")  # the bundled single team
        assert page.evaluate("window.__sameDocument") == 42
        expect(page.locator("body")).to_have_attribute("data-live", "live")  # pushed, not polled

        # claim it: the conversation opens, right-to-left for Arabic, the person is told
        item.locator("button.claim").click()
        expect(page.locator("#conversation-title")).to_contain_text("assigned")
        transcript = page.locator("#transcript")
        expect(transcript).to_have_attribute("dir", direction)
        person = transcript.locator(".msg.person .text").first
        expect(person).to_have_text(person_text)
        expect(person).to_have_attribute("dir", "auto")
        joined = RESPONSES.text("utter_gw_counsellor_joined", language)
        expect(transcript.locator(".msg.system .text").last).to_have_text(joined)
        expect(page.locator("#understood")).to_contain_text("health")

        # the quick replies are in the person's language
        greeting = page.locator('#quick-replies button[data-name="utter_qr_greeting"]')
        expect(greeting).to_have_text(RESPONSES.text("utter_qr_greeting", language))

        # reply
        page.fill("#reply-text", "I am here with you.")
        page.click("#reply-send")
        expect(transcript.locator(".msg.counsellor .text").last).to_have_text("I am here with you.")
        assert ("counsellor", "I am here with you.") in transcript_texts(gateway, conversation)

        # the person answers: it shows up live
        gateway.person_says(conversation, "Thank you" if language == "en" else "شكرا", ticket.id)
        expect(transcript.locator(".msg.person .text").last).to_have_text(
            "Thank you" if language == "en" else "شكرا"
        )

        # send a service card (the picker starts from what the bot understood)
        expect(page.locator("#service-category")).to_have_value("health")
        page.click("#service-search")
        first_service = page.locator("#services li.service").first
        expect(first_service).to_be_visible()
        service_id = first_service.get_attribute("data-service-id")
        first_service.locator("button.send-service").click()
        label = RESPONSES.text("label_hours", language)
        expect(transcript.locator(".msg.counsellor .text").last).to_contain_text(label)
        with gateway.ctx.engine.connect() as conn:
            referral = conn.execute(select(t.referrals)).one()
        assert (referral.service_id, referral.language, referral.counsellor) == (
            service_id,
            language,
            "amina",
        )

        # close with an outcome: the bot has the conversation again
        page.select_option("#close-outcome", "referred")
        page.click("#close")
        expect(page.locator("#conversation-title")).to_contain_text("closed")
        expect(item).to_have_count(0)
        closed = RESPONSES.text("utter_gw_handoff_closed", language)
        expect(transcript.locator(".msg.system .text").last).to_have_text(closed)
        assert gateway.ctx.gateway.store.conversation(conversation.id).mode == "bot"
        assert gateway.ctx.handoffs.get(ticket.id).outcome == "referred"
        assert page.evaluate("window.__sameDocument") == 42


def test_what_a_person_writes_is_shown_as_text_never_as_html(
    chromium: Browser, console_gateway: LiveGateway
) -> None:
    gateway = console_gateway
    gateway.add_user("amina")
    conversation = gateway.conversation("web-session-browser-xss", "en")
    gateway.person_says(conversation, XSS)
    ticket = gateway.open_handoff(conversation)
    with console_page(chromium, gateway, "amina") as page:
        page.locator(f'#queue li[data-handoff-id="{ticket.id}"] button.claim').click()
        person = page.locator("#transcript .msg.person .text").first
        expect(person).to_have_text(XSS)
        assert page.locator("#transcript img").count() == 0
        page.fill("#note-text", XSS)
        page.click("#note-add")
        expect(page.locator("#notes .note .text")).to_have_text(XSS)
        page.fill("#reply-text", XSS)
        page.click("#reply-send")
        expect(page.locator("#transcript .msg.counsellor .text").last).to_have_text(XSS)
        page.wait_for_timeout(300)  # an injected onerror would have run by now
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.locator("img").count() == 0


def test_the_queue_falls_back_to_polling_when_the_stream_fails(
    chromium: Browser, console_gateway: LiveGateway
) -> None:
    gateway = console_gateway
    gateway.add_user("amina")
    context = chromium.new_context()
    try:
        context.route(re.compile(r".*/console/api/events$"), lambda route: route.abort())
        page = context.new_page()
        page.goto(f"{gateway.url}/console/")
        page.fill("#login-username", "amina")
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        expect(page.locator("body")).to_have_attribute("data-live", "polling", timeout=10_000)
        conversation = gateway.conversation("web-session-browser-poll", "fa")
        ticket = gateway.open_handoff(conversation, reason="distress", priority="urgent")
        item = page.locator(f'#queue li[data-handoff-id="{ticket.id}"]')
        expect(item).to_be_visible(timeout=10_000)
        expect(item.locator(".priority")).to_have_text("URGENT")
    finally:
        context.close()


def test_a_supervisor_sees_the_queue_by_language_and_the_programme_report(
    chromium: Browser, console_gateway: LiveGateway
) -> None:
    gateway = console_gateway
    gateway.add_user("sara", "supervisor", PASSWORD, ("sr",), "belgrade")
    for n, language in enumerate(("ar", "ar", "fa")):
        conversation = gateway.conversation(f"web-session-browser-sup{n}", language)
        gateway.open_handoff(conversation, city="sid")
    with console_page(chromium, gateway, "sara") as page:
        expect(page.locator("#tab-supervisor")).to_be_visible()
        page.click("#tab-supervisor")
        expect(page.locator("#overview-waiting")).to_have_text("3")
        expect(page.locator("#overview-languages")).to_contain_text("ar")
        expect(page.locator("#overview-online")).to_contain_text("sara")
        expect(page.locator("#overview-team-languages")).to_contain_text("Putokaz counsellors · ar")
        chart = page.locator("#report figure.chart", has_text="Handoffs by language")
        expect(chart.locator(".bar-row")).to_have_count(2)
        expect(chart).to_contain_text("ar")
        href = page.get_attribute("#report-csv", "href")
        assert href is not None and "format=csv" in href
        csv_text = page.evaluate("url => fetch(url).then(r => r.text())", href)
        assert "handoffs,count,,3" in csv_text
