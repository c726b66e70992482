"""The browser chat at / in a real headless Chromium, through the real gateway and Rasa."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bot.i18n.responses import Responses
from bot.runner import Stack

RESPONSES = Responses.from_domain_dir()


@pytest.fixture
def chat_gateway(live_gateway: Any, rasa_stack: Stack) -> Any:
    return live_gateway(RASA_URL=rasa_stack.rasa_url, PUTOKAZ_ACTIONS_URL=rasa_stack.actions_url.rsplit("/", 1)[0],
                        PUTOKAZ_TEAM_HOURS="mo-su 00:00-24:00")


@contextlib.contextmanager
def chat_page(chromium: Any, gateway: Any, **options: Any) -> Iterator[Any]:
    """The chat page of `gateway` open in a new tab, closed afterwards."""
    page = chromium.new_page(**options)
    try:
        page.goto(gateway.url + "/")
        yield page
    finally:
        page.close()


def say(page: Any, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def wait_for_text(page: Any, text: str) -> None:
    page.wait_for_function(f"document.querySelector('#log').innerText.includes({text!r})", timeout=30_000)


@pytest.mark.rasa
@pytest.mark.browser
def test_chat_page_talks_to_the_assistant_with_buttons(chromium: Any, chat_gateway: Any) -> None:
    with chat_page(chromium, chat_gateway, viewport={"width": 390, "height": 800}) as page:  # a phone
        say(page, "hello")
        page.wait_for_selector(".msg.bot .buttons button", timeout=30_000)
        assert RESPONSES.text("utter_greet", "en")[:40] in page.inner_text("#log")
        page.click("button:has-text('Legal help')")
        wait_for_text(page, RESPONSES.text("utter_ask_city", "en")[:30])


@pytest.mark.rasa
@pytest.mark.browser
def test_chat_page_turns_right_to_left_for_arabic_and_shows_markup_as_text(chromium: Any, chat_gateway: Any) -> None:
    with chat_page(chromium, chat_gateway) as page:
        say(page, "مرحبا <img src=x onerror=window.__xss=1> بدي مساعدة")
        page.wait_for_function("document.documentElement.dir === 'rtl'", timeout=30_000)
        page.wait_for_selector(".msg.bot", timeout=30_000)
        assert page.evaluate("window.__xss") is None
        assert "<img src=x" in page.inner_text("#log")


@pytest.mark.rasa
@pytest.mark.browser
def test_chat_page_shows_that_the_data_was_deleted(chromium: Any, chat_gateway: Any) -> None:
    with chat_page(chromium, chat_gateway) as page:
        say(page, "please delete my data")
        page.wait_for_selector("button:has-text('Yes, delete')", timeout=30_000)
        page.click("button:has-text('Yes, delete')")
        wait_for_text(page, RESPONSES.text("utter_data_deleted", "en")[:40])
        session = page.evaluate("localStorage.getItem('putokaz-session')")
    assert session  # once the page has read the confirmation, nothing of the conversation is left
    with urllib.request.urlopen(f"{chat_gateway.url}/chat/api/messages?session={session}") as answer:
        assert json.loads(answer.read()) == {"language": None, "messages": []}
