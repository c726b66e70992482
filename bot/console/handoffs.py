"""/console/api/handoffs/{id}/...: read one handoff, claim, reply, send a service, note, close."""

from __future__ import annotations

from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sqlalchemy import update

from bot.channels.base import Outbound
from bot.console import accounts, auditlog, reports
from bot.console.web import (
    ApiError,
    audit,
    background,
    body_of,
    conversation_of,
    ctx_of,
    guarded,
    in_thread,
    may_act,
    publish,
    queue_item,
    reply_json,
    rtl,
    session_of,
    text_field,
    ticket,
)
from bot.gateway import tables as t
from bot.gateway.store import now
from bot.i18n.cards import card
from bot.i18n.localiser import Localiser
from service_directory import PLACE_SLUGS, SearchHit, get_service, is_open

OUTCOMES = ("referred", "resolved", "no_response", "emergency", "other")
PAGE = 500  # Store.transcript's page size


def register(bp: Blueprint) -> None:
    @bp.get("/api/handoffs/<handoff_id:int>")
    @guarded()
    async def handoff(request: Request, handoff_id: int) -> HTTPResponse:
        ctx = ctx_of(request)
        view = await ticket(request, handoff_id)
        conversation = await conversation_of(request, view)
        messages: list[dict[str, object]] = []
        while True:  # the whole transcript, page by page
            page = await in_thread(ctx.gateway.store.transcript, conversation.id,
                                   messages[-1]["id"] if messages else 0)
            messages.extend(page)
            if len(page) < PAGE:
                break
        await in_thread(ctx.gateway.courier.outbox.annotate, conversation.id, messages)  # "not delivered"...
        last_in = conversation.last_inbound_at
        times = await in_thread(reports.handoff_times, ctx.engine, handoff_id)
        await in_thread(auditlog.record_read, ctx.engine, session_of(request).user.username, handoff_id,
                        background(request), {"messages": len(messages)})
        return reply_json({
            "handoff": {**view.as_json(), **times},
            "conversation": {  # never the address: that is POST .../reveal-phone, audited
                "id": conversation.id, "channel": conversation.channel,
                "language": conversation.language, "script": conversation.script,
                "city": conversation.city, "mode": conversation.mode,
                "created_at": conversation.created_at.isoformat(),
                "last_inbound_at": last_in.isoformat() if last_in else None,
                "window_open": last_in is not None and (now() - last_in).total_seconds() < 86400,
                "rtl": rtl(conversation),
            },
            "understood": {"category": view.category, "city": view.city or conversation.city,
                           "language": view.language or conversation.language,
                           "reason": view.reason, "minor": view.minor, "priority": view.priority},
            "transcript": messages,
            "events": await in_thread(ctx.handoffs.events, handoff_id),
            "notes": await in_thread(reports.notes, ctx.engine, handoff_id),
            "referrals": await in_thread(reports.referrals, ctx.engine, handoff_id),
            "can_act": may_act(view, session_of(request)),
        })

    @bp.post("/api/handoffs/<handoff_id:int>/claim")
    @guarded()
    async def claim(request: Request, handoff_id: int) -> HTTPResponse:
        ctx = ctx_of(request)
        view = await in_thread(ctx.handoffs.claim, handoff_id, session_of(request).user.actor)
        await audit(request, "claim", handoff_id)
        await tell_person(ctx, view.conversation_id, "utter_gw_counsellor_joined")
        return reply_json({"handoff": queue_item(view)})

    @bp.post("/api/handoffs/<handoff_id:int>/messages")
    @guarded()
    async def message(request: Request, handoff_id: int) -> HTTPResponse:
        ctx, session = ctx_of(request), session_of(request)
        text = text_field(body_of(request), "text")
        view = await in_thread(ctx.handoffs.check_reply, handoff_id, session.user.actor)
        conversation = await conversation_of(request, view)
        delivered = await ctx.gateway.deliver(conversation, Outbound(text, rtl=rtl(conversation)),
                                              "counsellor", author_name=session.user.username)
        await audit(request, "reply", handoff_id, {"delivered": delivered})
        await publish(request, {"type": "message", "handoff_id": handoff_id,
                                "conversation_id": conversation.id, "author": "counsellor"})
        if not delivered:
            refused = f"the {conversation.channel} channel refused it; it is in the transcript"
            return reply_json({"error": refused, "delivered": False}, 502)
        return reply_json({"ok": True, "delivered": True})

    @bp.post("/api/handoffs/<handoff_id:int>/service")
    @guarded()
    async def send_service(request: Request, handoff_id: int) -> HTTPResponse:
        """A directory service as a card in the person's language; recorded as a referral."""
        ctx, session = ctx_of(request), session_of(request)
        service_id = text_field(body_of(request), "service_id", 64)
        current = await ticket(request, handoff_id)
        service = await in_thread(get_service, ctx.engine, service_id)
        if service is None:
            raise ApiError(404, f"no service {service_id!r} in the directory")
        view = await in_thread(ctx.handoffs.check_reply, handoff_id, session.user.actor)
        conversation = await conversation_of(request, view)
        language = conversation.language or view.language or "en"
        say = Localiser(ctx.gateway.responses, language, conversation.script or "latn")
        open_now = is_open(service.schedule) if service.schedule else None
        hit = SearchHit(service=service, distance_km=None, open_now=open_now, matched_place=True,
                        temporarily_closed=service.status == "temporarily_closed")
        text = card(say, hit, 1)
        delivered = await ctx.gateway.deliver(
            conversation, Outbound(text, rtl=rtl(conversation)), "counsellor",
            author_name=session.user.username, data={"service_id": service.id})
        category = current.category if current.category in service.categories else \
            (service.categories[0] if service.categories else None)
        city = service.city if service.city in PLACE_SLUGS else (current.city or conversation.city)
        referral = await in_thread(reports.add_referral, ctx.engine, handoff_id, service.id,
                                   category, city, language, session.user.username)
        await audit(request, "referral", handoff_id,
                    {"service_id": service.id, "delivered": delivered})
        await publish(request, {"type": "message", "handoff_id": handoff_id,
                                "conversation_id": conversation.id, "author": "counsellor"})
        return reply_json({"referral": referral, "text": text, "delivered": delivered},
                          200 if delivered else 502)

    @bp.post("/api/handoffs/<handoff_id:int>/notes")
    @guarded()
    async def note(request: Request, handoff_id: int) -> HTTPResponse:
        """A private note: kept with the handoff, never sent to the person."""
        text = text_field(body_of(request), "text", reports.MAX_NOTE)
        await ticket(request, handoff_id)  # 404 for an unknown handoff
        saved = await in_thread(reports.add_note, ctx_of(request).engine, handoff_id,
                                session_of(request).user.username, text)
        await audit(request, "note", handoff_id, {"note_id": saved["id"]})
        await publish(request, {"type": "note", "handoff_id": handoff_id})
        return reply_json({"note": saved})

    @bp.post("/api/handoffs/<handoff_id:int>/close")
    @guarded()
    async def close(request: Request, handoff_id: int) -> HTTPResponse:
        ctx = ctx_of(request)
        outcome = text_field(body_of(request), "outcome", 32)
        if outcome not in OUTCOMES:
            raise ApiError(400, f"outcome must be one of {', '.join(OUTCOMES)}")
        actor = session_of(request).user.actor
        view = await in_thread(ctx.handoffs.close, handoff_id, actor, outcome)
        await audit(request, "close", handoff_id, {"outcome": outcome})
        await tell_person(ctx, view.conversation_id, "utter_gw_handoff_closed")
        return reply_json({"handoff": queue_item(view)})

    @bp.post("/api/handoffs/<handoff_id:int>/release")
    @guarded()
    async def release(request: Request, handoff_id: int) -> HTTPResponse:
        view = await in_thread(ctx_of(request).handoffs.release, handoff_id,
                               session_of(request).user.actor)
        await audit(request, "release", handoff_id)
        return reply_json({"handoff": queue_item(view)})

    @bp.post("/api/handoffs/<handoff_id:int>/reassign")
    @guarded(supervisor=True)
    async def reassign(request: Request, handoff_id: int) -> HTTPResponse:
        ctx = ctx_of(request)
        to = text_field(body_of(request), "to", 64)
        target = await in_thread(accounts.get_user, ctx.engine, to)
        if target is None or not target.active:
            raise ApiError(404, f"no active console user named {to!r}")
        before = await ticket(request, handoff_id)
        actor = session_of(request).user.actor
        view = await in_thread(ctx.handoffs.reassign, handoff_id, actor, to)
        await audit(request, "reassign", handoff_id, {"from": before.assignee, "to": to})
        return reply_json({"handoff": queue_item(view)})

    @bp.post("/api/handoffs/<handoff_id:int>/join")
    @guarded()
    async def join(request: Request, handoff_id: int) -> HTTPResponse:
        """An interpreter (or a second counsellor) joins: they may write too."""
        view = await in_thread(ctx_of(request).handoffs.join_as_interpreter, handoff_id,
                               session_of(request).user.actor)
        await audit(request, "join", handoff_id)
        return reply_json({"handoff": {**queue_item(view), "interpreter": view.interpreter}})

    @bp.post("/api/handoffs/<handoff_id:int>/reveal-phone")
    @guarded()
    async def reveal_phone(request: Request, handoff_id: int) -> HTTPResponse:
        """The channel address, only on this explicit request, recorded before it is shown."""
        ctx, session = ctx_of(request), session_of(request)
        view = await ticket(request, handoff_id)
        if not may_act(view, session):
            raise ApiError(403, "only the assignee, the interpreter or a supervisor can see this")
        conversation = await conversation_of(request, view)

        def record() -> None:
            with ctx.engine.begin() as conn:
                conn.execute(update(t.handoffs).where(t.handoffs.c.id == handoff_id)
                             .values(phone_revealed=True))
                accounts.audit_in(conn, session.user.username, "reveal_phone", str(handoff_id),
                                  {"channel": conversation.channel})

        await in_thread(record)
        return reply_json({"channel": conversation.channel, "address": conversation.address})


async def tell_person(ctx: Any, conversation_id: str, response: str) -> None:
    """One of the gateway's own texts to the person, unless the conversation was erased meanwhile."""
    conversation = await in_thread(ctx.gateway.store.conversation, conversation_id)
    if conversation is not None:
        await ctx.gateway.say(conversation, response)
