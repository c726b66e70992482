"""The console's JSON API against the real gateway app, served for real on a free port.

No Rasa: conversations and handoffs are made directly through the app's own store and
HandoffService; the web channel's transcript is where "sent to the person" shows."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.console.sessions import SESSION_HOURS
from bot.gateway import tables as t
from bot.i18n.cards import card
from bot.i18n.localiser import Localiser
from bot.i18n.responses import Responses
from service_directory import SearchHit, get_service, record_unmet_need
from tests.live_gateway import PASSWORD, LiveGateway
from tests.live_gateway import ConsoleClient as Staff

QUEUE_KEYS = {
    "id",
    "conversation_id",
    "channel",
    "language",
    "city",
    "priority",
    "status",
    "waiting_since",
    "assignee",
    "reason",
    "interpreter_needed",
    "minor",
    "category",
    "team",  # beside SPEC's fields: the team whose queue it is in (tests/bot/console/test_teams.py)
}
RESPONSES = Responses.from_domain_dir()


def audit_rows(gateway: LiveGateway, action: str) -> list[Any]:
    with gateway.ctx.engine.connect() as conn:
        return conn.execute(
            select(t.audit).where(t.audit.c.action == action).order_by(t.audit.c.id)
        ).all()


def transcript(gateway: LiveGateway, conversation: Any) -> list[dict[str, Any]]:
    return gateway.ctx.gateway.store.transcript(conversation.id)  # type: ignore[no-any-return]


def waiting_handoff(
    gateway: LiveGateway,
    address: str = "web-session-0000000001",
    language: str = "en",
    **kwargs: Any,
) -> tuple[Any, Any]:
    conversation = gateway.conversation(address, language)
    gateway.person_says(conversation, "I need to talk to a person")
    return conversation, gateway.open_handoff(conversation, **kwargs)


# --- login, sessions, CSRF ---------------------------------------------------------------------
def test_login_sets_a_signed_httponly_strict_cookie_and_me_gives_the_csrf_token(
    console_gateway: LiveGateway,
) -> None:
    console_gateway.add_user("amina", "counsellor", PASSWORD, ("ar", "en"), "belgrade")
    member = Staff(console_gateway, "amina")
    response = member.login()
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert f"Max-Age={SESSION_HOURS * 3600}" in cookie
    assert response.json()["user"] == {
        "username": "amina",
        "role": "counsellor",
        "languages": ["ar", "en"],
        "team": "belgrade",
    }
    me = member.get("/me")
    assert me.status_code == 200 and me.json()["csrf_token"] == member.csrf
    assert [r.actor for r in audit_rows(console_gateway, "login")] == ["amina"]
    with console_gateway.ctx.engine.connect() as conn:  # the password is kept as a bcrypt hash
        stored = conn.execute(select(t.users.c.password_hash)).scalar_one()
    assert stored.startswith("$2") and PASSWORD not in stored
    # a tampered cookie is no session
    token = member.http.cookies["putokaz_console"]
    tampered = token[:-1] + ("1" if token.endswith("0") else "0")
    forged = httpx.Client(base_url=console_gateway.url, cookies={"putokaz_console": tampered})
    assert forged.get("/console/api/me").status_code == 401
    assert console_gateway.ctx.handoffs.counsellors_online("ar") == ["amina"]


def test_wrong_credentials_are_401_and_audited(console_gateway: LiveGateway) -> None:
    console_gateway.add_user("amina")
    for username, password in (("amina", "not the password"), ("nobody", PASSWORD)):
        response = Staff(console_gateway, username).login(password)
        assert response.status_code == 401
        assert response.json() == {"error": "wrong user name or password"}
        assert "set-cookie" not in response.headers
    assert [r.actor for r in audit_rows(console_gateway, "login_failed")] == ["amina", "nobody"]
    bad = httpx.post(
        f"{console_gateway.url}/console/api/login", data={"username": "amina", "password": PASSWORD}
    )
    assert bad.status_code == 400 and "error" in bad.json()  # a form post (cross-site) is refused


def test_without_a_session_everything_is_401(console_gateway: LiveGateway) -> None:
    _, ticket = waiting_handoff(console_gateway)
    anonymous = httpx.Client(base_url=console_gateway.url)
    for path in ("/me", "/queue", f"/handoffs/{ticket.id}", "/report", "/events", "/services"):
        response = anonymous.get(f"/console/api{path}")
        assert response.status_code == 401, path
        assert response.json() == {"error": "log in first"}
    assert anonymous.post(f"/console/api/handoffs/{ticket.id}/claim").status_code == 401


def test_a_state_change_without_the_csrf_token_is_403(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    _, ticket = waiting_handoff(console_gateway)
    amina = console_staff("amina")
    missing = amina.post(f"/handoffs/{ticket.id}/claim", csrf=False)
    assert missing.status_code == 403 and "CSRF" in missing.json()["error"]
    wrong = amina.http.post(
        f"/console/api/handoffs/{ticket.id}/claim", headers={"X-CSRF-Token": "x" * 43}
    )
    assert wrong.status_code == 403
    assert amina.post("/logout", csrf=False).status_code == 403
    assert console_gateway.ctx.handoffs.get(ticket.id).status == "waiting"
    assert amina.post(f"/handoffs/{ticket.id}/claim").status_code == 200


def test_login_is_rate_limited_per_user_name(console_gateway: LiveGateway) -> None:
    console_gateway.add_user("amina")
    console_gateway.add_user("bojan")
    for _ in range(10):
        assert Staff(console_gateway, "amina").login("guess guess guess").status_code == 401
    blocked = Staff(console_gateway, "amina").login()
    assert blocked.status_code == 429 and "too many" in blocked.json()["error"]
    assert Staff(console_gateway, "bojan").login().status_code == 200


def test_logout_ends_the_session(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    amina = console_staff("amina")
    cookie = amina.http.cookies["putokaz_console"]
    response = amina.post("/logout")
    assert response.status_code == 200 and "Max-Age=0" in response.headers["set-cookie"]
    replay = httpx.Client(base_url=console_gateway.url, cookies={"putokaz_console": cookie})
    assert replay.get("/console/api/me").status_code == 401
    assert [r.actor for r in audit_rows(console_gateway, "logout")] == ["amina"]


# --- the queue and claiming --------------------------------------------------------------------
def test_the_queue_has_the_spec_fields_urgent_first_then_longest_waiting(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    first = waiting_handoff(console_gateway, "web-session-0000000001", "fa", city="subotica")[1]
    second = waiting_handoff(console_gateway, "web-session-0000000002", "en")[1]
    urgent = waiting_handoff(
        console_gateway,
        "web-session-0000000003",
        "ar",
        reason="distress",
        priority="urgent",
        category="psychosocial",
    )[1]
    amina = console_staff("amina")
    queue = amina.get("/queue")
    assert queue.status_code == 200
    items = queue.json()
    assert [i["id"] for i in items] == [urgent.id, first.id, second.id]
    assert all(set(i) == QUEUE_KEYS for i in items)
    top = items[0]
    assert (top["priority"], top["status"], top["language"], top["reason"], top["category"]) == (
        "urgent",
        "waiting",
        "ar",
        "distress",
        "psychosocial",
    )
    assert items[1]["city"] == "subotica" and items[1]["assignee"] is None
    assert "web-session-000000000" not in queue.text  # the channel address is never listed
    assert amina.post(f"/handoffs/{first.id}/claim").status_code == 200
    claimed = next(i for i in amina.get("/queue").json() if i["id"] == first.id)
    assert (claimed["status"], claimed["assignee"]) == ("assigned", "amina")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_exactly_one_of_eight_concurrent_claims_wins(
    backend: str, request: pytest.FixtureRequest, live_gateway: Callable[..., LiveGateway]
) -> None:
    gateway = live_gateway(
        request.getfixturevalue("postgres_url") if backend == "postgresql" else None
    )
    conversation, ticket = waiting_handoff(gateway)
    counsellors = []
    for n in range(8):
        gateway.add_user(f"counsellor{n}")
        member = Staff(gateway, f"counsellor{n}")
        assert member.login().status_code == 200
        counsellors.append(member)
    start = threading.Barrier(8)

    def claim(member: Staff) -> httpx.Response:
        start.wait()
        return member.post(f"/handoffs/{ticket.id}/claim")

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(claim, counsellors))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 7, [r.text for r in responses]
    winner = counsellors[[r.status_code for r in responses].index(200)].username
    assert all(
        "already claimed" in r.json()["error"] or "not waiting" in r.json()["error"]
        for r in responses
        if r.status_code == 409
    )
    assert gateway.ctx.handoffs.get(ticket.id).assignee == winner
    claims = [e for e in gateway.ctx.handoffs.events(ticket.id) if e["event"] == "claim"]
    assert [e["actor"] for e in claims] == [winner]
    joined = RESPONSES.text("utter_gw_counsellor_joined", "en")
    assert [m["text"] for m in transcript(gateway, conversation)].count(joined) == 1
    assert [r.target for r in audit_rows(gateway, "claim")] == [str(ticket.id)]


# --- talking -----------------------------------------------------------------------------------
def test_only_the_assignee_replies_and_the_person_gets_it(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    conversation, ticket = waiting_handoff(console_gateway)
    amina, bojan, sara = (
        console_staff("amina"),
        console_staff("bojan"),
        console_staff("sara", "supervisor"),
    )
    early = amina.post(f"/handoffs/{ticket.id}/messages", {"text": "hello?"})
    assert early.status_code == 409  # claim first
    assert amina.post(f"/handoffs/{ticket.id}/claim").status_code == 200
    other = bojan.post(f"/handoffs/{ticket.id}/messages", {"text": "I am not your counsellor"})
    assert other.status_code == 403 and other.json()["error"]
    assert amina.post(f"/handoffs/{ticket.id}/messages", {"text": ""}).status_code == 400
    sent = amina.post(
        f"/handoffs/{ticket.id}/messages", {"text": "Hello, I am Amina. How can I help?"}
    )
    assert sent.status_code == 200 and sent.json()["delivered"] is True
    assert (
        sara.post(f"/handoffs/{ticket.id}/messages", {"text": "A supervisor here."}).status_code
        == 200
    )
    lines = [
        (m["author"], m["author_name"], m["text"])
        for m in transcript(console_gateway, conversation)
    ]
    assert ("counsellor", "amina", "Hello, I am Amina. How can I help?") in lines
    assert ("counsellor", "sara", "A supervisor here.") in lines
    assert not any(text == "I am not your counsellor" for _, _, text in lines)
    detail = amina.get(f"/handoffs/{ticket.id}").json()
    assert detail["handoff"]["first_reply_at"] is not None
    assert [m["author"] for m in detail["transcript"]] == [
        "person",
        "system",
        "counsellor",
        "counsellor",
    ]
    assert detail["understood"] == {
        "category": None,
        "city": None,
        "language": "en",
        "reason": "asked",
        "minor": False,
        "priority": "normal",
    }
    assert len(audit_rows(console_gateway, "reply")) == 2


def test_an_interpreter_who_joined_may_reply_until_the_close(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    conversation, ticket = waiting_handoff(console_gateway, language="ps")
    amina, omar = console_staff("amina"), console_staff("omar", languages=("ps",))
    assert amina.post(f"/handoffs/{ticket.id}/claim").status_code == 200
    assert omar.post(f"/handoffs/{ticket.id}/join").json()["handoff"]["interpreter"] == "omar"
    assert omar.post(f"/handoffs/{ticket.id}/messages", {"text": "سلام"}).status_code == 200
    assert amina.post(f"/handoffs/{ticket.id}/close", {"outcome": "resolved"}).status_code == 200
    late = omar.post(f"/handoffs/{ticket.id}/messages", {"text": "after the close"})
    assert late.status_code == 409
    assert not any(
        m["text"] == "after the close" for m in transcript(console_gateway, conversation)
    )


def test_close_gives_the_conversation_back_to_the_bot(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    conversation, ticket = waiting_handoff(console_gateway, language="sr")
    console_gateway.ctx.gateway.store.update_conversation(conversation.id, script="cyrl")
    amina, bojan = console_staff("amina"), console_staff("bojan")
    assert amina.post(f"/handoffs/{ticket.id}/claim").status_code == 200
    assert amina.post(f"/handoffs/{ticket.id}/close", {"outcome": "finished"}).status_code == 400
    assert bojan.post(f"/handoffs/{ticket.id}/close", {"outcome": "resolved"}).status_code == 403
    closed = amina.post(f"/handoffs/{ticket.id}/close", {"outcome": "resolved"})
    assert closed.status_code == 200 and closed.json()["handoff"]["status"] == "closed"
    assert console_gateway.ctx.handoffs.open_ticket(conversation.id) is None
    assert console_gateway.ctx.gateway.store.conversation(conversation.id).mode == "bot"
    last = transcript(console_gateway, conversation)[-1]
    assert (last["author"], last["text"]) == (
        "system",
        RESPONSES.text("utter_gw_handoff_closed", "sr", "cyrl"),
    )
    assert amina.get("/queue").json() == []
    assert amina.post(f"/handoffs/{ticket.id}/close", {"outcome": "resolved"}).status_code == 409
    assert audit_rows(console_gateway, "close")[0].detail == {"outcome": "resolved"}


def test_release_puts_the_handoff_back_in_the_queue(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    _, ticket = waiting_handoff(console_gateway)
    amina, bojan = console_staff("amina"), console_staff("bojan")
    assert amina.post(f"/handoffs/{ticket.id}/claim").status_code == 200
    assert bojan.post(f"/handoffs/{ticket.id}/release").status_code == 403
    assert amina.post(f"/handoffs/{ticket.id}/release").json()["handoff"]["status"] == "waiting"
    assert bojan.post(f"/handoffs/{ticket.id}/claim").status_code == 200


def test_a_counsellor_cannot_reassign_a_supervisor_can(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    _, ticket = waiting_handoff(console_gateway)
    amina, bojan, sara = (
        console_staff("amina"),
        console_staff("bojan"),
        console_staff("sara", "supervisor"),
    )
    assert amina.post(f"/handoffs/{ticket.id}/claim").status_code == 200
    refused = amina.post(f"/handoffs/{ticket.id}/reassign", {"to": "bojan"})
    assert refused.status_code == 403 and refused.json()["error"]
    assert bojan.get("/report").status_code == 403
    assert bojan.get("/overview").status_code == 403
    assert sara.post(f"/handoffs/{ticket.id}/reassign", {"to": "nobody"}).status_code == 404
    moved = sara.post(f"/handoffs/{ticket.id}/reassign", {"to": "bojan"})
    assert moved.status_code == 200 and moved.json()["handoff"]["assignee"] == "bojan"
    assert amina.post(f"/handoffs/{ticket.id}/messages", {"text": "still me?"}).status_code == 403
    assert (
        bojan.post(f"/handoffs/{ticket.id}/messages", {"text": "Hello, Bojan here."}).status_code
        == 200
    )
    row = audit_rows(console_gateway, "reassign")[0]
    assert (row.actor, row.target, row.detail) == (
        "sara",
        str(ticket.id),
        {"from": "amina", "to": "bojan"},
    )


def test_the_phone_number_is_shown_only_on_request_and_audited(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    address = "381601234567"
    conversation = console_gateway.conversation(address, "fa", channel="whatsapp")
    console_gateway.person_says(conversation, "سلام")
    ticket = console_gateway.open_handoff(conversation)
    amina, bojan = console_staff("amina"), console_staff("bojan")
    assert amina.post(f"/handoffs/{ticket.id}/claim").status_code == 200
    for path in ("/queue", f"/handoffs/{ticket.id}"):
        assert address not in amina.get(path).text
    assert bojan.post(f"/handoffs/{ticket.id}/reveal-phone").status_code == 403
    assert audit_rows(console_gateway, "reveal_phone") == []
    shown = amina.post(f"/handoffs/{ticket.id}/reveal-phone")
    assert shown.status_code == 200 and shown.json() == {"channel": "whatsapp", "address": address}
    row = audit_rows(console_gateway, "reveal_phone")[0]
    assert (row.actor, row.target) == ("amina", str(ticket.id))
    assert address not in json.dumps(row.detail)
    assert amina.get(f"/handoffs/{ticket.id}").json()["handoff"]["phone_revealed"] is True


def test_private_notes_are_kept_and_never_sent(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    conversation, ticket = waiting_handoff(console_gateway)
    amina = console_staff("amina")
    assert amina.post(f"/handoffs/{ticket.id}/claim").status_code == 200
    note = "Seems to be a minor travelling alone; check with the guardian service."
    saved = amina.post(f"/handoffs/{ticket.id}/notes", {"text": note})
    assert saved.status_code == 200 and saved.json()["note"]["text"] == note
    assert amina.post("/handoffs/9999/notes", {"text": note}).status_code == 404
    assert not any(note in m["text"] for m in transcript(console_gateway, conversation))
    detail = amina.get(f"/handoffs/{ticket.id}").json()
    assert [(n["author"], n["text"]) for n in detail["notes"]] == [("amina", note)]
    assert not any(note in m["text"] for m in detail["transcript"])
    assert [r.target for r in audit_rows(console_gateway, "note")] == [str(ticket.id)]
    assert note not in json.dumps([r.detail for r in audit_rows(console_gateway, "note")])


def test_a_service_card_goes_out_in_the_persons_language_and_is_a_referral(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    conversation, ticket = waiting_handoff(
        console_gateway, language="ar", category="health", city="belgrade"
    )
    amina = console_staff("amina", languages=("ar",))
    assert amina.post(f"/handoffs/{ticket.id}/claim").status_code == 200
    found = amina.get("/services", params={"category": "health", "city": "belgrade"})
    assert found.status_code == 200 and found.json()
    choice = found.json()[0]
    assert "health" in choice["categories"]
    assert amina.get("/services", params={"category": "dentistry"}).status_code == 400
    assert (
        amina.post(f"/handoffs/{ticket.id}/service", {"service_id": "no-such-service"}).status_code
        == 404
    )
    sent = amina.post(f"/handoffs/{ticket.id}/service", {"service_id": choice["id"]})
    assert sent.status_code == 200, sent.text
    service = get_service(console_gateway.ctx.engine, choice["id"])
    assert service is not None
    last = transcript(console_gateway, conversation)[-1]
    say = Localiser(RESPONSES, "ar", "latn")
    expected = card(
        say,
        SearchHit(service, None, _open_now(service), True, service.status == "temporarily_closed"),
        1,
    )
    assert (last["author"], last["author_name"], last["data"]) == (
        "counsellor",
        "amina",
        {"service_id": service.id},
    )
    assert last["text"] == expected == sent.json()["text"]
    assert RESPONSES.text("label_hours", "ar") in last["text"]  # in Arabic, not English
    with console_gateway.ctx.engine.connect() as conn:
        row = conn.execute(select(t.referrals)).one()
    assert (
        row.handoff_id,
        row.service_id,
        row.category,
        row.city,
        row.language,
        row.counsellor,
    ) == (ticket.id, service.id, "health", service.city, "ar", "amina")
    assert [r.target for r in audit_rows(console_gateway, "referral")] == [str(ticket.id)]
    assert amina.get(f"/handoffs/{ticket.id}").json()["referrals"][0]["service_id"] == service.id


def _open_now(service: Any) -> bool | None:
    from service_directory import is_open

    return is_open(service.schedule) if service.schedule else None


def test_quick_replies_come_in_the_persons_language_and_script(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    amina = console_staff("amina")
    arabic = amina.get("/quick-replies", params={"language": "ar"}).json()
    names = {r["name"] for r in arabic}
    assert {"utter_qr_greeting", "utter_qr_wait", "utter_qr_interpreter", "utter_qr_safe"} <= names
    greeting = next(r for r in arabic if r["name"] == "utter_qr_greeting")
    assert greeting["label"] == "Hello, I am a counsellor. How can I help you?"
    assert greeting["text"] == RESPONSES.text("utter_qr_greeting", "ar") != greeting["label"]
    cyrillic = amina.get("/quick-replies", params={"language": "sr", "script": "cyrl"}).json()
    assert (
        next(r for r in cyrillic if r["name"] == "utter_qr_safe")["text"]
        == "Да ли си сада на сигурном?"
    )
    assert amina.get("/quick-replies", params={"language": "xx"}).status_code == 400


# --- live updates ------------------------------------------------------------------------------
def test_the_event_stream_announces_new_handoffs_and_messages(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    amina = console_staff("amina")
    with amina.http.stream("GET", "/console/api/events", timeout=20) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == "retry: 3000"
        assert next(lines).startswith(":")
        conversation, ticket = waiting_handoff(console_gateway, "web-session-0000000009")
        console_gateway.person_says(conversation, "are you there?", ticket.id)
        events = []
        for line in lines:
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
            if len(events) == 2:
                break
    assert events[0]["type"] == "handoff.opened" and events[0]["handoff"]["id"] == ticket.id
    assert events[1] == {
        "type": "message",
        "handoff_id": ticket.id,
        "conversation_id": conversation.id,
    }
    assert "web-session-0000000009" not in json.dumps(events)


def test_the_stream_sends_keep_alive_comments_and_ends_with_the_session(
    console_gateway: LiveGateway,
    console_staff: Callable[..., Staff],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.console.events

    monkeypatch.setattr(bot.console.events, "KEEPALIVE", 0.3)
    amina = console_staff("amina")
    with amina.http.stream("GET", "/console/api/events", timeout=20) as stream:
        lines = stream.iter_lines()
        assert [next(lines), next(lines), next(lines)] == ["retry: 3000", ": listening", ""]
        assert next(lines) == ": keep-alive"
        assert amina.post("/logout").status_code == 200
        rest = [line for line in lines if line]
    ended = json.loads(rest[-1].removeprefix("data: "))
    assert ended["type"] == "session.ended" and "log in again" in ended["reason"]


def test_events_reach_every_gateway_through_redis(
    live_gateway: Callable[..., LiveGateway], tmp_path: Path
) -> None:
    """With REDIS_URL, consoles connected to one gateway hear about handoffs opened on another."""
    redis_url = os.environ.get("PUTOKAZ_TEST_REDIS", "redis://127.0.0.1:6379/15")
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    serving = live_gateway(database, REDIS_URL=redis_url)
    opening = live_gateway(database, REDIS_URL=redis_url)
    name = f"redis{uuid.uuid4().hex[:8]}"  # the login counter lives in the shared Redis
    serving.add_user(name)
    member = Staff(serving, name)
    assert member.login().status_code == 200
    heard = threading.Event()

    def ping_until_heard() -> None:  # the Redis subscription is ready once a ping comes through
        while not heard.wait(0.1):
            opening.run(opening.ctx.kv.publish("console", {"type": "ping"}))

    with member.http.stream("GET", "/console/api/events", timeout=20) as stream:
        pinger = threading.Thread(target=ping_until_heard)
        pinger.start()
        try:
            events, conversation = [], None
            for line in stream.iter_lines():
                if not line.startswith("data: "):
                    continue
                event = json.loads(line[6:])
                if event["type"] == "ping" and not heard.is_set():
                    heard.set()
                    conversation = opening.conversation("web-session-redis-0001", "ps")
                    ticket = opening.open_handoff(conversation)
                elif (conversation is not None and event["type"] != "ping"
                      and (event.get("handoff") or {}).get("conversation_id") == conversation.id):
                    events.append(event)  # other gateways on the same Redis may publish too
                    break
        finally:
            heard.set()
            pinger.join()
    assert events[0]["type"] == "handoff.opened" and events[0]["handoff"]["id"] == ticket.id
    assert [i["id"] for i in member.get("/queue").json()] == [ticket.id]


# --- the programme report ----------------------------------------------------------------------
def test_report_json_and_csv(
    console_gateway: LiveGateway, console_staff: Callable[..., Staff]
) -> None:
    amina, sara = console_staff("amina"), console_staff("sara", "supervisor")
    c1, h1 = waiting_handoff(
        console_gateway, "web-session-0000000001", "ar", category="health", city="belgrade"
    )
    c2, h2 = waiting_handoff(
        console_gateway,
        "web-session-0000000002",
        "fa",
        reason="child_alone",
        priority="urgent",
        city="sid",
    )
    waiting_handoff(console_gateway, "web-session-0000000003", "en")
    for ticket in (h1, h2):
        assert amina.post(f"/handoffs/{ticket.id}/claim").status_code == 200
        assert amina.post(f"/handoffs/{ticket.id}/messages", {"text": "Hello"}).status_code == 200
    service_id = amina.get("/services", params={"category": "health", "city": "belgrade"}).json()[
        0
    ]["id"]
    assert amina.post(f"/handoffs/{h1.id}/service", {"service_id": service_id}).status_code == 200
    assert amina.post(f"/handoffs/{h1.id}/close", {"outcome": "referred"}).status_code == 200
    record_unmet_need(console_gateway.ctx.engine, "shelter", "sid", "fa")
    record_unmet_need(console_gateway.ctx.engine, "shelter", "sid", "fa")
    record_unmet_need(console_gateway.ctx.engine, "food", "kikinda", "ar")

    report = sara.get("/report")
    assert report.status_code == 200
    data = report.json()
    assert data["handoffs"]["count"] == 3
    assert data["handoffs"]["by_priority"] == {"normal": 2, "urgent": 1}
    assert data["handoffs"]["by_reason"] == {"asked": 2, "child_alone": 1}
    assert data["handoffs"]["by_language"] == {"ar": 1, "en": 1, "fa": 1}
    assert data["handoffs"]["by_place"] == {"belgrade": 1, "sid": 1, "unknown": 1}
    assert data["handoffs"]["by_channel"] == {"web": 3}
    assert data["referrals"]["count"] == 1 and data["referrals"]["by_category"] == {"health": 1}
    assert data["referrals"]["by_language"] == {"ar": 1}
    assert data["first_reply"]["answered"] == 2 and data["first_reply"]["median_seconds"] >= 0
    assert data["unmet_needs"]["by_category"] == {"shelter": 2, "food": 1}
    assert data["unmet_needs"]["combinations"][0] == {
        "category": "shelter",
        "place": "sid",
        "language": "fa",
        "count": 2,
    }
    assert data["minors"] == {"count": 1, "by_place": {"sid": 1}, "by_language": {"fa": 1}}
    assert "web-session" not in report.text

    today = data["to"]
    exported = sara.get("/report", params={"from": data["from"], "to": today, "format": "csv"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["section", "dimension", "key", "value"]
    assert ["handoffs", "count", "", "3"] in rows
    assert ["referrals", "category", "health", "1"] in rows
    assert ["unmet_needs", "category/place/language", "shelter/sid/fa", "2"] in rows
    assert ["minors", "count", "", "1"] in rows

    empty = sara.get("/report", params={"from": "2020-01-01", "to": "2020-01-31"}).json()
    assert empty["handoffs"]["count"] == 0 and empty["first_reply"]["median_seconds"] is None
    assert sara.get("/report", params={"from": "2024-02-30"}).status_code == 400
    assert sara.get("/report", params={"from": "2024-03-01", "to": "2024-02-01"}).status_code == 400
    assert amina.get("/report").status_code == 403

    overview = sara.get("/overview").json()
    assert overview["queue_length"] == 1
    assert {p["username"] for p in overview["online"]} == {"amina", "sara"}
    assert [g["name"] for g in overview["by_language"]] == ["en", "fa"]


# --- the page ----------------------------------------------------------------------------------
def test_the_page_is_static_with_a_strict_content_security_policy(
    console_gateway: LiveGateway,
) -> None:
    page = httpx.get(f"{console_gateway.url}/console/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert (
        "default-src 'self'" in policy and "script-src 'self'" in policy and "unsafe" not in policy
    )
    assert page.headers["x-content-type-options"] == "nosniff"
    html = page.text
    assert "<script src=" in html and "<script>" not in html and " on" + "click=" not in html
    script = httpx.get(f"{console_gateway.url}/console/static/console.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "innerHTML" not in script.text and "insertAdjacentHTML" not in script.text
    assert (
        httpx.get(f"{console_gateway.url}/console/static/..%2F..%2Fgateway%2Fapp.py").status_code
        == 404
    )
    missing = httpx.get(f"{console_gateway.url}/console/api/no-such-thing")
    assert missing.status_code == 404 and missing.json() == {"error": "no such console API"}
