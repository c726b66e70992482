"""The gateway's Sanic app: built by `create_app(settings)`; resources live on app.ctx."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sanic import Blueprint, Request, Sanic, response
from sanic.response import HTTPResponse

from bot.channels.base import Channel, Inbound, WebhookRejected
from bot.gateway.db import migrate as migrate_gateway
from bot.gateway.kv import make_kv
from bot.gateway.pipeline import Gateway
from bot.gateway.rasa_client import RasaClient
from bot.gateway.store import Store
from bot.handoff.service import HandoffService
from bot.settings import Settings
from service_directory import open_directory

log = logging.getLogger("putokaz.gateway")
STATIC = Path(__file__).parent / "static"
MAX_BODY = 1_000_000
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _quiet_secrets_in_logs() -> None:
    # httpx logs request URLs, and Telegram's contain the bot token; PTB's debug logs hold chat ids.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(logging.INFO)


def make_channels(settings: Settings) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    if settings.telegram_token:
        from bot.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(settings.telegram_token.value,
                                               settings.telegram_webhook_secret.value or None,
                                               settings.telegram_api_base_url or None)
    if settings.whatsapp_token:
        from bot.channels.whatsapp import WhatsAppChannel

        channels["whatsapp"] = WhatsAppChannel(
            settings.whatsapp_token.value, settings.whatsapp_phone_number_id,
            settings.whatsapp_app_secret.value or None, settings.whatsapp_verify_token.value or None,
            settings.whatsapp_api_base_url,
            {"reengage": settings.whatsapp_template_reengage})
    if settings.twilio_account_sid:
        from bot.channels.twilio import TwilioChannel

        channels["twilio"] = TwilioChannel(settings.twilio_account_sid, settings.twilio_auth_token.value,
                                           settings.twilio_whatsapp_from, settings.twilio_api_base_url,
                                           settings.twilio_webhook_url or None,
                                           dict(settings.twilio_reengage_content))
    return channels


def create_app(settings: Settings, name: str = "putokaz") -> Sanic:
    _quiet_secrets_in_logs()
    app = Sanic(name, configure_logging=False)  # its records reach the root logger once, in our format
    app.config.REQUEST_MAX_SIZE = MAX_BODY
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings

    @app.before_server_start
    async def open_resources(app: Sanic, _loop: Any) -> None:
        engine = await asyncio.to_thread(open_directory, settings.database_url or None)
        await asyncio.to_thread(migrate_gateway, engine)
        kv = make_kv(settings.redis_url, settings.redis_prefix)
        store = Store(engine)

        def publish(event: dict[str, Any]) -> None:
            asyncio.run_coroutine_threadsafe(kv.publish("console", event), loop)

        loop = asyncio.get_running_loop()
        app.ctx.engine = engine
        app.ctx.kv = kv
        app.ctx.handoffs = HandoffService(engine, publish, settings.teams)
        app.ctx.gateway = Gateway(settings, store, app.ctx.handoffs, kv,
                                  RasaClient(settings.rasa_urls, f"{settings.actions_url}/health"),
                                  make_channels(settings))
        await asyncio.to_thread(app.ctx.gateway.detector.warm_up)  # not on the first person's message
        app.add_task(_every(settings.retry_seconds, app.ctx.gateway.retry_due))
        app.add_task(app.ctx.gateway.deliver_due())  # what a stopped process left in the outbox goes out now
        app.add_task(_every(settings.retry_seconds, app.ctx.gateway.deliver_due))
        app.add_task(_every(30.0, app.ctx.gateway.notify_unclaimed))
        app.add_task(_every(3600.0, app.ctx.gateway.purge_expired))
        app.add_task(_every(60.0, app.ctx.gateway.finish_erasures))
        app.ctx.stop_polling = asyncio.Event()
        telegram = app.ctx.gateway.channels.get("telegram")
        if settings.telegram_polling and telegram is not None:
            from bot.channels.telegram import poll_updates

            log.info("gateway: receiving Telegram updates by long polling (TELEGRAM_POLLING)")
            app.add_task(poll_updates(telegram, app.ctx.gateway.receive, app.ctx.stop_polling))

    @app.after_server_stop
    async def close_resources(app: Sanic, _loop: Any) -> None:
        app.ctx.stop_polling.set()
        gateway: Gateway = app.ctx.gateway
        await gateway.idle()
        gateway.courier.close()
        for channel in gateway.channels.values():
            await channel.close()
        await gateway.rasa.close()
        await app.ctx.kv.close()
        app.ctx.engine.dispose()

    app.blueprint(webhooks_blueprint())
    app.blueprint(web_chat_blueprint())
    from bot.console.api import console_blueprint

    app.blueprint(console_blueprint())

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return response.json({"status": "ok", "channels": sorted(request.app.ctx.gateway.channels)})

    return app


async def _every(seconds: float, job: Any) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:  # a failing background job must not stop the gateway
            log.exception("gateway: background job %s failed", getattr(job, "__name__", job))


def _gateway(request: Request) -> Gateway:
    return request.app.ctx.gateway  # type: ignore[no-any-return]


async def _take(request: Request, channel_name: str, **context: Any) -> HTTPResponse | None:
    """Parse and keep a webhook's messages; None when all went well (the caller answers), else the 4xx."""
    gateway = _gateway(request)
    channel = gateway.channels.get(channel_name)
    if channel is None:
        return response.json({"error": f"the {channel_name} channel is not configured"}, status=404)
    try:
        parsed = channel.parse(dict(request.headers), request.body or b"", **context)
    except WebhookRejected as exc:
        return response.json({"error": exc.reason}, status=exc.status)
    for inbound in parsed.messages:
        await gateway.receive(inbound)
        await _acknowledge(channel, inbound)
    return None


async def _acknowledge(channel: Channel, inbound: Inbound) -> None:
    acknowledge = getattr(channel, "acknowledge", None) or getattr(channel, "mark_read", None)
    if acknowledge is None:
        return
    try:
        await (acknowledge(inbound) if hasattr(channel, "acknowledge") else acknowledge(inbound.message_key))
    except Exception:  # a receipt is a courtesy; the message is already kept
        log.info("gateway: could not acknowledge a %s message", inbound.channel)


def webhooks_blueprint() -> Blueprint:
    bp = Blueprint("webhooks", url_prefix="/webhooks")

    @bp.post("/telegram")
    async def telegram(request: Request) -> HTTPResponse:
        return await _take(request, "telegram") or response.json({"ok": True})

    @bp.post("/whatsapp")
    async def whatsapp(request: Request) -> HTTPResponse:
        return await _take(request, "whatsapp") or response.json({"ok": True})

    @bp.post("/twilio")
    async def twilio(request: Request) -> HTTPResponse:
        # Twilio signs the URL it posted to: the request's, unless TWILIO_WEBHOOK_URL names the public one
        refused = await _take(request, "twilio", url=request.url)
        return refused or response.text(EMPTY_TWIML, content_type="text/xml")  # replies go through the API

    @bp.get("/whatsapp")
    async def whatsapp_verify(request: Request) -> HTTPResponse:
        channel = _gateway(request).channels.get("whatsapp")
        if channel is None:
            return response.json({"error": "the whatsapp channel is not configured"}, status=404)
        try:
            challenge = channel.verify({k: v[0] for k, v in request.args.items()})  # type: ignore[attr-defined]
        except WebhookRejected as exc:
            return response.json({"error": exc.reason}, status=exc.status)
        return response.text(challenge)

    return bp


def web_chat_blueprint() -> Blueprint:
    """The browser chat at /: the same gateway path as Telegram and WhatsApp, its transcript as its outbox."""
    bp = Blueprint("web_chat")

    @bp.get("/")
    async def page(request: Request) -> HTTPResponse:
        return await response.file(STATIC / "chat.html", mime_type="text/html; charset=utf-8")

    @bp.get("/static/<name:str>")
    async def static(request: Request, name: str) -> HTTPResponse:
        path = (STATIC / name).resolve()
        if path.parent != STATIC.resolve() or not path.is_file():
            return response.json({"error": "not found"}, status=404)
        return await response.file(path)

    @bp.post("/chat/api/messages")
    async def send(request: Request) -> HTTPResponse:
        body = request.json if isinstance(request.json, dict) else None
        if body is None:
            return response.json({"error": "send a JSON object with session, message_id and text or payload"},
                                 status=400)
        session, message_id = body.get("session"), body.get("message_id")
        text, payload = body.get("text"), body.get("payload")
        if not isinstance(session, str) or not 16 <= len(session) <= 64 or not session.replace("-", "").isalnum():
            return response.json({"error": "session must be 16-64 letters, digits or dashes"}, status=400)
        if not isinstance(message_id, str) or not 1 <= len(message_id) <= 64:
            return response.json({"error": "message_id must be a string of 1-64 characters"}, status=400)
        if payload is not None and (not isinstance(payload, str) or not payload.startswith("/")):
            return response.json({"error": "payload must be a button payload starting with /"}, status=400)
        if payload is None and (not isinstance(text, str) or len(text) > 4096):
            return response.json({"error": "text must be a string of at most 4,096 characters"}, status=400)
        inbound = Inbound(channel="web", address=session, message_key=f"{session}:{message_id}",
                          kind="button" if payload else "text", text=payload or text or "",
                          language_hint=_browser_language(request))
        accepted = await _gateway(request).receive(inbound)
        return response.json({"accepted": accepted}, status=202)

    @bp.get("/chat/api/messages")
    async def poll(request: Request) -> HTTPResponse:
        session = request.args.get("session", "")
        try:
            after = int(request.args.get("after", "0"))
        except ValueError:
            return response.json({"error": "after must be a message number"}, status=400)
        gateway = _gateway(request)
        if not session:
            return response.json({"error": "session is required"}, status=400)
        conversation = await asyncio.to_thread(gateway.store.find_conversation, "web", session)
        if conversation is None:
            return response.json({"language": None, "messages": []})
        messages = await asyncio.to_thread(gateway.store.transcript, conversation.id, after)
        if conversation.erased_at is not None and messages:  # its last replies, read: now nothing is left
            await asyncio.to_thread(gateway.store.finish_erasure, conversation.id, True)
        return response.json({"language": conversation.language, "messages": messages})

    return bp


def _browser_language(request: Request) -> str | None:
    header = request.headers.get("accept-language", "")
    code = header.split(",")[0].split("-")[0].strip().lower()
    return code if code in ("en", "ar", "fa", "ps", "sr") else None


def serve(rasa_url: str | None = None) -> None:
    """Run the gateway in the foreground (used by `putokaz run` and `python -m bot.gateway`)."""
    import dataclasses

    settings = Settings.from_env()
    if rasa_url:
        settings = dataclasses.replace(settings, rasa_urls=(rasa_url,))
    app = create_app(settings)
    print(f"putokaz: the gateway listens on http://{settings.host}:{settings.port}/ (chat), /console/ (counsellors)",
          flush=True)
    app.run(host=settings.host, port=settings.port, access_log=False, single_process=True) if _has_single_process() \
        else app.run(host=settings.host, port=settings.port, access_log=False, workers=1)


def _has_single_process() -> bool:
    import inspect

    return "single_process" in inspect.signature(Sanic.run).parameters
