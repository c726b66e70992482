import pytest
from tests.bot.gateway.test_end_to_end import gateway, texts_to, send_telegram, wait_for, _ids, RESPONSES  # noqa: F401
from tests.builders import telegram_message_update
import time

@pytest.fixture(params=["httpx", "aiohttp", "httpx2", "aiohttp2"])
def transport(request, monkeypatch):
    if request.param.startswith("httpx"):
        import bot.channels.telegram as tg
        from telegram.request import HTTPXRequest
        monkeypatch.setattr(tg, "AiohttpRequest", HTTPXRequest)
    return request.param

@pytest.mark.rasa
def test_probe(transport, gateway):
    chat = next(_ids)
    gateway.telegram.fail_next(429, 1, method="sendMessage")
    send_telegram(gateway, telegram_message_update(next(_ids), chat, "thank you"))
    sent = wait_for(lambda: (t := texts_to(gateway, chat)) and len(t) >= 2 and t, timeout=40)
    time.sleep(2)
    calls = [(round(c.at, 2), c.status, c.params.get("text", "")[:20], c.content_type) for c in gateway.telegram.calls_to("sendMessage")]
    print("\nPROBE", transport, sent and [s[:20] for s in sent], calls)
