"""Handoff latency, end to end: `python -m bench.handoff [--redis] [--model PATH] [--chats 50]`.

What runs (all on this machine, all stopped at the end, also on Ctrl-C or an error):
  - one trained model (`rasa train` into models/, skipped by Rasa when nothing changed; or --model);
  - the action server and one `rasa run` server (bot.runner.Stack);
  - a fake Telegram Bot API (tests.fakes.telegram_api) in this process, which the gateway's
    python-telegram-bot talks to over HTTP;
  - the gateway as its own process (`bot.gateway.app.serve`, SQLite in a temporary folder; with
    --redis, REDIS_URL=redis://127.0.0.1:6379/14, so console events go through real Redis pub/sub),
    team hours "mo-su 00:00-24:00" and a rate limit that never bites. The process is started by this
    module (`_serve-gateway`), which wraps a few gateway methods to note when they start and end (a
    JSON line each, in the temporary folder); the product code itself is not changed.
  - a counsellor account (made in the database before the gateway starts), logged in over HTTP as
    the console page does (POST /console/api/login, then the CSRF token on every POST), with the
    server-sent event stream GET /console/api/events open and read in a background thread.

What is measured:
  1. escalation -> ticket in an open console: --chats fresh Telegram chats (five languages in turn)
     each POST /webhooks/telegram a message asking for a human; the time from the start of that POST
     to the `handoff.opened` event for that conversation arriving on the SSE stream (matched by
     conversation id: the bench reads the gateway's gw_conversation row for the chat). Chats go one
     after another (--concurrency more at once); the next starts once the previous message is fully
     handled (its inbox row closed). Target: p95 <= 1 s.
  2. counsellor reply -> channel: each ticket is claimed over the API (untimed), then
     POST /console/api/handoffs/{id}/messages {"text": ...}; the time from the start of that POST to the
     fake Bot API receiving the sendMessage for that chat with that text. Target: p95 <= 300 ms.
  Both come with where the time went, from the gateway's own notes (webhook intake, SQL, the privacy
  notice and other sends, Rasa's turn, the handoff SQL, publish -> SSE). A few untimed warm-up chats
  go first (a fresh Rasa process is slow on its first turns).

Output: a table on stdout and every figure in bench/handoff/last_run.json (per chat too), with the load
average (`uptime`) at start and end: other work on the machine's cores inflates the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.support import interrupted as _interrupted
from bench.support import percentile, stop_process

ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = Path(__file__).with_name("last_run.json")
REDIS_URL = "redis://127.0.0.1:6379/14"
WEBHOOK_SECRET = "bench-handoff-webhook-secret-0123456789"
SECRET_KEY = "bench-handoff-secret-key-0123456789abcdef"
TEAM_HOURS = "mo-su 00:00-24:00"
ESCALATION_TARGET_MS = 1000.0
REPLY_TARGET_MS = 300.0
STEP_TIMEOUT = 30.0  # seconds for any one chat's escalation or reply
LANGS = ("en", "ar", "fa", "ps", "sr")
#: messages asking for a human, per language; each is checked with Rasa's /model/parse first and
#: kept only when the model reads it as request_human (else it would not open a handoff)
ASK_FOR_HUMAN = {
    "en": ["I want to talk to a counsellor", "can i speak with a real person please", "connect me with a human",
           "i want a real person not a bot"],
    "ar": ["بدي احكي مع شخص حقيقي", "ممكن احكي مع موظف", "بدي احكي مع انسان", "وصلني بمرشد اجتماعي"],
    "fa": ["میخوام با مشاور حرف بزنم", "لطفا یک نفر با من صحبت کنه", "آدم واقعی میخوام نه ربات",
           "با یک انسان واقعی وصلم کن"],
    "ps": ["مشاور غواړم", "له یو انسان سره خبرې کول غواړم", "له کارکوونکي سره خبرې کوم", "اصلي انسان"],
    "sr": ["hoću da pričam sa savetnikom", "могу ли да разговарам са човеком", "povežite me sa savetnikom",
           "ne želim robota, hoću osobu"],
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None, "mean_ms": None}
    return {"n": len(values), "p50_ms": round(percentile(values, 50), 1), "p95_ms": round(percentile(values, 95), 1),
            "max_ms": round(max(values), 1), "mean_ms": round(sum(values) / len(values), 1)}


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


# -- the gateway process, with notes ------------------------------------------------------------------


def serve_gateway(notes_path: str) -> None:
    """`python -m bench.handoff _serve-gateway NOTES`: the gateway (`serve()`, settings from the
    environment), with the start and end (time.monotonic, which is system-wide on Linux) of a few
    methods noted as JSON lines in NOTES. Only wrappers: each calls the original unchanged."""
    import functools

    from bot.gateway import app as gateway_app
    from bot.gateway.kv import MemoryKV, RedisKV
    from bot.gateway.pipeline import Gateway
    from bot.gateway.rasa_client import RasaClient
    from bot.handoff.service import HandoffService

    lock = threading.Lock()
    out = open(notes_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (open while serving)

    def note(what: str, start: float, **data: Any) -> None:
        line = json.dumps({"what": what, "start": start, "end": time.monotonic(), **data}, default=str)
        with lock:
            out.write(line + "\n")

    def wrap_async(cls: Any, name: str, describe: Callable[..., dict[str, Any]]) -> None:
        original = getattr(cls, name)

        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                return await original(*args, **kwargs)
            finally:
                note(name, start, **describe(*args, **kwargs))

        setattr(cls, name, wrapper)

    def wrap_sync(cls: Any, name: str, describe: Callable[..., dict[str, Any]]) -> None:
        original = getattr(cls, name)

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                note(name, start, **describe(*args, **kwargs))

        setattr(cls, name, wrapper)

    wrap_async(Gateway, "receive", lambda self, inbound: {"address": inbound.address, "channel": inbound.channel})
    wrap_async(Gateway, "_handle", lambda self, conversation_id, message: {"conversation_id": conversation_id})
    wrap_async(Gateway, "deliver", lambda self, conversation, outbound, author, *a, **k: {
        "conversation_id": conversation.id, "author": author})
    wrap_async(RasaClient, "send", lambda self, conversation_id, text, metadata: {"conversation_id": conversation_id})
    wrap_sync(HandoffService, "open", lambda self, conversation_id, *a, **k: {"conversation_id": conversation_id})
    wrap_sync(HandoffService, "check_reply", lambda self, handoff_id, actor: {"handoff_id": handoff_id})
    for kv in (MemoryKV, RedisKV):
        wrap_async(kv, "publish", lambda self, channel, message: {
            "type": message.get("type"),
            "conversation_id": message.get("conversation_id") or (message.get("handoff") or {}).get("conversation_id")})
    try:
        gateway_app.serve()
    finally:
        out.close()


def read_notes(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The gateway's notes by conversation id (and by address for `receive`)."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    if not path.exists():
        return by_key
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        key = item.get("conversation_id") or (f"address:{item['address']}" if "address" in item else None) \
            or (f"handoff:{item['handoff_id']}" if "handoff_id" in item else None)
        if key:
            by_key.setdefault(key, []).append(item)
    return by_key


@contextlib.contextmanager
def gateway_process(env: dict[str, str], port: int, notes: Path, log_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    from bot.runner import child_env, wait_until_ready

    with open(log_file, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "bench.handoff", "_serve-gateway", str(notes)], cwd=ROOT,
                                   env=child_env(**env), stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            wait_until_ready(f"http://127.0.0.1:{port}/health", process, timeout=120)
            yield process
        finally:
            stop_process(process)


def prepare_database(path: Path, username: str, password: str) -> str:
    """The directory and the gateway's tables, and the counsellor, before any process opens them."""
    from bot.console.accounts import create_user
    from bot.gateway.db import migrate as migrate_gateway
    from service_directory import open_directory

    url = f"sqlite:///{path}"
    engine = open_directory(url)
    migrate_gateway(engine)
    create_user(engine, username, password, "counsellor", LANGS, actor="bench")
    engine.dispose()
    return url


# -- the console, over HTTP ------------------------------------------------------------------------------


class Console:
    """One browser's worth of console: its cookie jar and CSRF token (as tests.live_gateway's)."""

    def __init__(self, url: str, username: str) -> None:
        import httpx

        self.url = url
        self.username = username
        self.http = httpx.Client(base_url=url, timeout=30)
        self.csrf = ""

    def login(self, password: str) -> None:
        response = self.http.post("/console/api/login", json={"username": self.username, "password": password})
        if response.status_code != 200:
            raise RuntimeError(f"console login answered {response.status_code}: {response.text[:200]}")
        self.csrf = response.json()["csrf_token"]

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.http.post(f"/console/api{path}", json=body, headers={"X-CSRF-Token": self.csrf})

    def close(self) -> None:
        self.http.close()


class EventStream(threading.Thread):
    """GET /console/api/events, read line by line; each event stamped with time.monotonic() on arrival."""

    def __init__(self, url: str, cookies: Any) -> None:
        import httpx

        super().__init__(name="console-events", daemon=True)
        self.client = httpx.Client(base_url=url, cookies=cookies, timeout=httpx.Timeout(10.0, read=60.0))
        self.listening = threading.Event()
        self.changed = threading.Condition()
        self.opened: dict[str, tuple[float, dict[str, Any]]] = {}  # conversation id -> (arrival, handoff)
        self.counts: Counter[str] = Counter()
        self.error: str | None = None
        self._stopping = False

    def run(self) -> None:
        try:
            with self.client.stream("GET", "/console/api/events") as response:
                if response.status_code != 200:
                    self.error = f"the event stream answered {response.status_code}"
                    return
                for line in response.iter_lines():
                    at = time.monotonic()
                    if self._stopping:
                        break
                    if line.startswith(": listening"):
                        self.listening.set()
                    elif line.startswith("data:"):
                        event = json.loads(line[5:])
                        with self.changed:
                            self.counts[str(event.get("type"))] += 1
                            handoff = event.get("handoff") or {}
                            if event.get("type") == "handoff.opened" and handoff.get("conversation_id"):
                                self.opened.setdefault(handoff["conversation_id"], (at, handoff))
                                self.changed.notify_all()
                if not self._stopping:
                    self.error = "the event stream ended"
        except Exception as exc:  # a stream cut while stopping is expected
            if not self._stopping:
                self.error = f"the event stream failed: {type(exc).__name__}: {exc}"
        finally:
            self.listening.set()
            with self.changed:
                self.changed.notify_all()

    def wait_opened(self, conversation_id: str, deadline: float) -> tuple[float, dict[str, Any]] | None:
        with self.changed:
            while conversation_id not in self.opened:
                left = deadline - time.monotonic()
                if left <= 0 or self.error or not self.is_alive():
                    return None
                self.changed.wait(min(left, 0.5))
            return self.opened[conversation_id]

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(Exception):
            self.client.close()


# -- the measurements -----------------------------------------------------------------------------------


class Bench:
    def __init__(self, gateway_url: str, database: Path, fake: Any, stream: EventStream, console: Console,
                 phrases: dict[str, list[str]]) -> None:
        self.gateway_url = gateway_url
        self.database = database
        self.fake = fake
        self.stream = stream
        self.console = console
        self.phrases = phrases
        self.languages = [lang for lang in LANGS if phrases.get(lang)]
        self.update_ids = itertools.count(1)
        self.ids_lock = threading.Lock()
        self.local = threading.local()

    def _http(self) -> Any:
        import httpx

        if not hasattr(self.local, "http"):
            self.local.http = httpx.Client(timeout=STEP_TIMEOUT)
        return self.local.http

    def _db(self) -> sqlite3.Connection:
        if not hasattr(self.local, "db"):
            db = sqlite3.connect(str(self.database), timeout=5, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA query_only=ON")
            self.local.db = db
        return self.local.db  # type: ignore[no-any-return]

    def _conversation_id(self, chat: int, deadline: float) -> str | None:
        while time.monotonic() < deadline:
            row = self._db().execute("SELECT id FROM gw_conversation WHERE channel = 'telegram' AND address = ?",
                                     (str(chat),)).fetchone()
            if row is not None:
                return str(row[0])
            time.sleep(0.01)
        return None

    def _handled(self, update_id: int) -> bool:
        row = self._db().execute("SELECT status FROM gw_inbox WHERE channel = 'telegram' AND message_key = ?",
                                 (str(update_id),)).fetchone()
        return row is not None and row[0] != "pending"

    def escalate(self, index: int, chat: int) -> dict[str, Any]:
        """One fresh chat asks for a human; until its handoff.opened is on the console's stream."""
        from tests.builders import telegram_message_update

        language = self.languages[index % len(self.languages)]
        choices = self.phrases[language]
        text = choices[(index // len(self.languages)) % len(choices)]
        with self.ids_lock:
            update_id = next(self.update_ids)
        body = json.dumps(telegram_message_update(update_id, chat, text, language_code=language))
        record: dict[str, Any] = {"chat": chat, "language": language, "text": text}
        started = time.monotonic()
        deadline = started + STEP_TIMEOUT
        response = self._http().post(f"{self.gateway_url}/webhooks/telegram", content=body, headers={
            "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
        record["post_ms"] = round((time.monotonic() - started) * 1000, 2)
        record["t0"] = started
        if response.status_code != 200:
            record["error"] = f"webhook answered {response.status_code}"
            return record
        conversation_id = self._conversation_id(chat, deadline)
        if conversation_id is None:
            record["error"] = "no conversation row"
            return record
        record["conversation_id"] = conversation_id
        seen = self.stream.wait_opened(conversation_id, deadline)
        if seen is None:
            record["error"] = self.stream.error or "no handoff.opened event in time"
            return record
        at, handoff = seen
        record["sse_at"] = at
        record["handoff_id"] = handoff.get("id")
        record["priority"] = handoff.get("priority")
        record["latency_ms"] = round((at - started) * 1000, 2)
        while not self._handled(update_id):  # the tail (the "you are number N" message) before the next chat
            if time.monotonic() > deadline:
                record["warning"] = "the message was not fully handled in time"
                break
            time.sleep(0.005)
        return record

    def reply(self, index: int, escalation: dict[str, Any]) -> dict[str, Any]:
        """Claim the ticket, then one counsellor message; until the fake Bot API has the sendMessage."""
        handoff_id, chat = escalation["handoff_id"], str(escalation["chat"])
        record: dict[str, Any] = {"chat": escalation["chat"], "handoff_id": handoff_id,
                                  "conversation_id": escalation["conversation_id"], "language": escalation["language"]}
        started = time.monotonic()
        claimed = self.console.post(f"/handoffs/{handoff_id}/claim")
        record["claim_ms"] = round((time.monotonic() - started) * 1000, 2)
        if claimed.status_code != 200:
            record["error"] = f"claim answered {claimed.status_code}: {claimed.text[:120]}"
            return record
        marker = f"#{index:03d}-{secrets.token_hex(3)}"
        text = f"Hello, this is a counsellor ({marker}). I have read your messages; how can I help?"
        calls_before = len(self.fake.calls)
        started = time.monotonic()
        answer = self.console.post(f"/handoffs/{handoff_id}/messages", {"text": text})
        ended = time.monotonic()
        record["t0"] = started
        record["post_ms"] = round((ended - started) * 1000, 2)
        if answer.status_code != 200:
            record["error"] = f"reply answered {answer.status_code}: {answer.text[:120]}"
            return record
        deadline = started + STEP_TIMEOUT
        while True:
            with self.fake._lock:
                calls = self.fake.calls[calls_before:]
            call = next((c for c in calls if c.method.lower() == "sendmessage" and str(c.params.get("chat_id")) == chat
                         and marker in str(c.params.get("text", ""))), None)
            if call is not None:
                record["fake_at"] = call.monotonic
                record["latency_ms"] = round((call.monotonic - started) * 1000, 2)
                return record
            if time.monotonic() > deadline:
                record["error"] = "the fake Bot API got no such sendMessage"
                return record
            time.sleep(0.005)

    def close(self) -> None:
        return None


def run_all(bench: Bench, count: int, first_chat: int, concurrency: int, deadline: float,
            step: Callable[[int, Any], dict[str, Any]], items: list[Any] | None = None) -> list[dict[str, Any]]:
    """`step` over `count` chats (or over `items`), at most `concurrency` at a time, until `deadline`."""
    work = list(enumerate(items)) if items is not None else [(i, first_chat + i) for i in range(count)]
    results: list[dict[str, Any]] = []
    if concurrency <= 1:
        for index, item in work:
            if time.monotonic() > deadline:
                log(f"  time limit reached after {len(results)}")
                break
            results.append(step(index, item))
        return results
    pool = ThreadPoolExecutor(concurrency, thread_name_prefix="bench")
    try:
        futures = []
        for start in range(0, len(work), concurrency):  # waves of `concurrency`
            if time.monotonic() > deadline:
                log(f"  time limit reached after {len(results)}")
                break
            futures = [pool.submit(step, index, item) for index, item in work[start:start + concurrency]]
            results.extend(f.result() for f in futures)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


# -- where the time went --------------------------------------------------------------------------------


def first(items: list[dict[str, Any]], predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    return next((i for i in sorted(items, key=lambda x: x["start"]) if predicate(i)), None)


def escalation_parts(record: dict[str, Any], notes: dict[str, list[dict[str, Any]]]) -> dict[str, float] | None:
    """The escalation's latency cut into what the gateway did, in ms (None: a note is missing)."""
    t0, end = record["t0"], record["sse_at"]
    mine = notes.get(record["conversation_id"], [])
    receive = first(notes.get(f"address:{record['chat']}", []), lambda n: n["what"] == "receive")
    handle = first(mine, lambda n: n["what"] == "_handle")
    rasa = first(mine, lambda n: n["what"] == "send")
    opened = first(mine, lambda n: n["what"] == "open")
    if not (receive and handle and rasa and opened):
        return None
    sends_before = [n for n in mine if n["what"] == "deliver" and n["start"] < rasa["start"]]
    reply_sends = [n for n in mine if n["what"] == "deliver" and rasa["end"] <= n["start"] < opened["start"]]
    notice = sum(n["end"] - n["start"] for n in sends_before)
    reply = sum(n["end"] - n["start"] for n in reply_sends)
    parts = {
        "webhook -> receive (HTTP, parse)": receive["start"] - t0,
        "receive (store SQL)": receive["end"] - receive["start"],
        "-> handling starts (task, pending SQL)": handle["start"] - receive["end"],
        "privacy notice sent (SQL + sendMessage)": notice,
        "other work before Rasa (SQL, language)": rasa["start"] - handle["start"] - notice,
        "Rasa turn (NLU, policy, action server)": rasa["end"] - rasa["start"],
        "bot's reply sent (SQL + sendMessage)": reply,
        "other work after Rasa": opened["start"] - rasa["end"] - reply,
        "handoff opened (SQL)": opened["end"] - opened["start"],
        "publish -> console's SSE stream": end - opened["end"],
    }
    return {k: v * 1000 for k, v in parts.items()}


def reply_parts(record: dict[str, Any], notes: dict[str, list[dict[str, Any]]]) -> dict[str, float] | None:
    t0, end = record["t0"], record["fake_at"]
    deliver = first(notes.get(record["conversation_id"], []),
                    lambda n: n["what"] == "deliver" and n["author"] == "counsellor" and n["start"] >= t0)
    check = first(notes.get(f"handoff:{record['handoff_id']}", []),
                  lambda n: n["what"] == "check_reply" and n["start"] >= t0)
    if deliver is None or check is None:
        return None
    parts = {
        "POST -> check_reply (HTTP, session SQL, CSRF)": check["start"] - t0,
        "check_reply (SQL)": check["end"] - check["start"],
        "conversation read (SQL)": deliver["start"] - check["end"],
        "deliver -> Bot API (transcript SQL + PTB send)": end - deliver["start"],
    }
    return {k: v * 1000 for k, v in parts.items()}


def part_stats(all_parts: list[dict[str, float]]) -> dict[str, dict[str, Any]]:
    names: list[str] = []
    for parts in all_parts:
        names.extend(n for n in parts if n not in names)
    return {name: stats([p[name] for p in all_parts if name in p]) for name in names}


# -- report ----------------------------------------------------------------------------------------------


def table(report: dict[str, Any]) -> str:
    lines = [f"{'':46} {'n':>4} {'p50':>8} {'p95':>8} {'max':>8} {'target':>8}  verdict"]
    for key, title, target in (("escalation", "escalation -> handoff.opened on SSE (ms)", ESCALATION_TARGET_MS),
                               ("reply", "counsellor reply -> sendMessage at API (ms)", REPLY_TARGET_MS)):
        s = report[key]["latency"]
        if not s["n"]:
            lines.append(f"{title:46} {0:>4} {'-':>8} {'-':>8} {'-':>8} {target:8.0f}  no data")
            continue
        verdict = "MET" if s["p95_ms"] <= target else "MISSED"
        lines.append(f"{title:46} {s['n']:>4} {s['p50_ms']:8.1f} {s['p95_ms']:8.1f} {s['max_ms']:8.1f} "
                     f"{target:8.0f}  {verdict}")
    for key, title in (("escalation", "where the escalation's time went"), ("reply", "where the reply's time went")):
        parts = report[key]["parts"]
        if not parts:
            continue
        lines.append("")
        lines.append(f"{title + ' (gateway notes, ms)':46} {'n':>4} {'p50':>8} {'p95':>8} {'max':>8} {'mean':>8}")
        for name, s in parts.items():
            lines.append(f"  {name:44} {s['n']:>4} {s['p50_ms']:8.1f} {s['p95_ms']:8.1f} {s['max_ms']:8.1f} "
                         f"{s['mean_ms']:8.1f}")
    extra = report["escalation"]
    lines.append("")
    lines.append(f"webhook POST answered in: p50 {extra['webhook_post']['p50_ms']} ms, p95 "
                 f"{extra['webhook_post']['p95_ms']} ms; reply POST answered in: p50 "
                 f"{report['reply']['api_post']['p50_ms']} ms, p95 {report['reply']['api_post']['p95_ms']} ms; "
                 f"claim: p50 {report['reply']['claim']['p50_ms']} ms")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.handoff", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a trained model (.tar.gz); default: train into models/")
    parser.add_argument("--redis", action="store_true", help=f"REDIS_URL={REDIS_URL}: console events via Redis pub/sub")
    parser.add_argument("--chats", type=int, default=50, help="fresh chats that ask for a human (default 50, max 500)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed chats first (default 5)")
    parser.add_argument("--concurrency", type=int, default=1, help="chats at once (default 1: one after another)")
    parser.add_argument("--seconds", type=float, default=300.0,
                        help="time limit of each measurement (default 300; every step also has 30 s)")
    parser.add_argument("--out", type=Path, default=RESULTS_FILE, help="where the figures go (JSON)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database, notes)")
    args = parser.parse_args(argv)
    if not 1 <= args.chats <= 500:
        parser.error("--chats must be 1-500")
    if not 0 <= args.warmup <= 50:
        parser.error("--warmup must be 0-50")
    if not 1 <= args.concurrency <= 32:
        parser.error("--concurrency must be 1-32")
    return args


def check_phrases(rasa_url: str) -> tuple[dict[str, list[str]], list[str]]:
    import httpx

    kept: dict[str, list[str]] = {}
    dropped: list[str] = []
    with httpx.Client(timeout=30) as http:
        for language, texts in ASK_FOR_HUMAN.items():
            for text in texts:
                parsed = http.post(f"{rasa_url}/model/parse", json={"text": text}).json()
                intent = parsed.get("intent") or {}
                if intent.get("name") == "request_human":
                    kept.setdefault(language, []).append(text)
                else:
                    dropped.append(f"{language}: {text!r} -> {intent.get('name')} ({intent.get('confidence', 0):.2f})")
    return kept, dropped


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_serve-gateway"]:
        serve_gateway(argv[1])
        return 0
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):  # every process is stopped on the way out
        signal.signal(signum, _interrupted)
    sys.path.insert(0, str(ROOT))
    from bot.runner import Stack, free_port, train
    from tests.fakes.telegram_api import FakeTelegramAPI

    folder = Path(tempfile.mkdtemp(prefix="putokaz-bench-handoff-"))
    started = time.monotonic()
    environment: dict[str, Any] = {
        "python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
        "uptime_at_start": uptime(),
    }
    log(f"bench.handoff: load at start: {environment['uptime_at_start']}")
    ok = False
    results: dict[str, Any] = {}
    try:
        with contextlib.ExitStack() as cleanup:
            if args.redis:
                import redis

                try:
                    redis.Redis.from_url(REDIS_URL, socket_timeout=3).ping()
                except Exception as exc:
                    log(f"--redis: {REDIS_URL} does not answer ({type(exc).__name__}: {exc})")
                    return 1
            model = args.model
            if model is None:
                log("training the model (Rasa skips it when nothing changed)...")
                t0 = time.monotonic()
                model = train(quiet=True)
                if model is None:
                    log("rasa train failed")
                    return 1
                log(f"model {model.name} ready in {time.monotonic() - t0:.0f} s")
            username, password = f"bench-{secrets.token_hex(3)}", secrets.token_urlsafe(18)
            database = folder / "putokaz.db"
            database_url = prepare_database(database, username, password)
            stack = Stack(model=model.resolve(), rasa_port=free_port(), actions_port=free_port(),
                          env={"DATABASE_URL": database_url}, log_dir=folder / "logs")
            cleanup.callback(stack.stop)
            log("starting the action server and Rasa...")
            t0 = time.monotonic()
            stack.start(timeout=600)
            log(f"Rasa ready in {time.monotonic() - t0:.0f} s")
            fake = FakeTelegramAPI().start()
            cleanup.callback(fake.stop)
            port = free_port()
            gateway_url = f"http://127.0.0.1:{port}"
            notes_path = folder / "notes.jsonl"
            gateway_env = {
                "RASA_URL": stack.rasa_url, "PUTOKAZ_ACTIONS_URL": f"http://127.0.0.1:{stack.actions_port}",
                "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url,
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET, "DATABASE_URL": database_url,
                "REDIS_URL": REDIS_URL if args.redis else "", "WHATSAPP_TOKEN": "", "WHATSAPP_PHONE_NUMBER_ID": "",
                "PUTOKAZ_RATE_LIMIT_PER_MINUTE": "1000000", "PUTOKAZ_TEAM_HOURS": TEAM_HOURS,
                "PUTOKAZ_DATA_DIR": str(folder / "data"), "PUTOKAZ_SECRET_KEY": SECRET_KEY,
                "PUTOKAZ_HOST": "127.0.0.1", "PUTOKAZ_PORT": str(port),
            }
            stream: EventStream | None = None

            @contextlib.contextmanager
            def gateway_and_stream() -> Iterator[None]:
                try:
                    with gateway_process(gateway_env, port, notes_path, folder / "logs" / "gateway.log"):
                        yield
                        if stream is not None:
                            stream.stop()
                finally:  # the gateway has stopped: its streams have ended
                    if stream is not None:
                        stream.stop()
                        stream.join(10)

            cleanup.enter_context(gateway_and_stream())
            log(f"gateway ready on :{port} (console events via {'Redis pub/sub' if args.redis else 'in-process'})")
            phrases, dropped = check_phrases(stack.rasa_url)
            if not phrases:
                log(f"no message asks for a human in this model's reading: {dropped}")
                return 1
            if dropped:
                log(f"left out (not read as request_human): {dropped}")
            console = Console(gateway_url, username)
            cleanup.callback(console.close)
            console.login(password)
            stream = EventStream(gateway_url, console.http.cookies)
            stream.start()
            if not stream.listening.wait(15) or stream.error:
                raise RuntimeError(stream.error or "the event stream did not start")
            log(f"logged in as {username}; the event stream is open")
            bench = Bench(gateway_url, database, fake, stream, console, phrases)

            def deadline_of() -> float:
                return time.monotonic() + float(args.seconds)

            if args.warmup:
                log(f"warm-up: {args.warmup} untimed chats (escalation and reply)...")
                warm = run_all(bench, args.warmup, 740_000_000, 1, deadline_of(), bench.escalate)
                bad = [w.get("error") for w in warm if "error" in w]
                if bad:
                    raise RuntimeError(f"warm-up escalations failed: {bad[:3]}")
                warm_replies = run_all(bench, 0, 0, 1, deadline_of(), bench.reply, items=warm)
                bad = [w.get("error") for w in warm_replies if "error" in w]
                if bad:
                    raise RuntimeError(f"warm-up replies failed: {bad[:3]}")

            load_before = uptime()
            log(f"1. escalation: {args.chats} fresh chats, {args.concurrency} at a time...")
            escalations = run_all(bench, args.chats, 750_000_000, args.concurrency, deadline_of(), bench.escalate)
            opened = [e for e in escalations if "latency_ms" in e]
            log(f"   {len(opened)} of {len(escalations)} tickets seen on the console's stream")
            log(f"2. replies: claim and answer {len(opened)} tickets, {args.concurrency} at a time...")
            replies = run_all(bench, 0, 0, args.concurrency, deadline_of(), bench.reply, items=opened)
            load_after = uptime()
            time.sleep(0.3)  # the gateway's last notes
            notes = read_notes(notes_path)
            results = {"escalations": escalations, "replies": replies, "load": [load_before, load_after],
                       "dropped": dropped, "phrases": phrases, "events": dict(stream.counts)}
            esc_parts = [p for e in opened if (p := escalation_parts(e, notes)) is not None]
            rep_parts = [p for r in replies if "latency_ms" in r and (p := reply_parts(r, notes)) is not None]
            results["parts"] = (esc_parts, rep_parts)
            ok = True
    except KeyboardInterrupt:
        log("interrupted: every process started here has been stopped")
        return 130
    finally:
        if args.keep or not ok:
            log(f"logs, database and notes kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    environment["uptime_at_end"] = uptime()
    environment["uptime_around_measurement"] = results["load"]
    escalations, replies = results["escalations"], results["replies"]
    esc_parts, rep_parts = results["parts"]
    for e in escalations:
        e.pop("t0", None)
        e.pop("sse_at", None)
    for r in replies:
        r.pop("t0", None)
        r.pop("fake_at", None)
    esc_latency = [e["latency_ms"] for e in escalations if "latency_ms" in e]
    rep_latency = [r["latency_ms"] for r in replies if "latency_ms" in r]
    report: dict[str, Any] = {
        "what": "handoff latency: Telegram webhook -> gateway -> Rasa -> ticket on the console's SSE stream; "
                "console reply API -> gateway -> fake Telegram Bot API",
        "command": "python -m bench.handoff " + " ".join(argv),
        "model": model.name,
        "console_events": "redis pub/sub (" + REDIS_URL + ")" if args.redis else "in-process (MemoryKV)",
        "database": "sqlite (temporary folder)",
        "chats": args.chats, "warmup": args.warmup, "concurrency": args.concurrency,
        "environment": environment,
        "escalation": {
            "latency": stats(esc_latency), "target_p95_ms": ESCALATION_TARGET_MS,
            "met": bool(esc_latency) and percentile(esc_latency, 95) <= ESCALATION_TARGET_MS,
            "errors": dict(Counter(e["error"] for e in escalations if "error" in e)),
            "rasa_share_of_p50": None,
            "webhook_post": stats([e["post_ms"] for e in escalations if "post_ms" in e]),
            "parts": part_stats(esc_parts),
            "per_chat": escalations,
        },
        "reply": {
            "latency": stats(rep_latency), "target_p95_ms": REPLY_TARGET_MS,
            "met": bool(rep_latency) and percentile(rep_latency, 95) <= REPLY_TARGET_MS,
            "errors": dict(Counter(r["error"] for r in replies if "error" in r)),
            "api_post": stats([r["post_ms"] for r in replies if "post_ms" in r]),
            "claim": stats([r["claim_ms"] for r in replies if "claim_ms" in r]),
            "parts": part_stats(rep_parts),
            "per_chat": replies,
        },
        "messages_left_out": results["dropped"], "messages": results["phrases"],
        "events_seen_on_stream": results["events"],
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    rasa = report["escalation"]["parts"].get("Rasa turn (NLU, policy, action server)")
    if rasa and rasa["n"] and esc_latency:
        report["escalation"]["rasa_share_of_p50"] = round(rasa["p50_ms"] / percentile(esc_latency, 50), 2)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(report))
    print()
    for key in ("escalation", "reply"):
        if report[key]["errors"]:
            print(f"{key} errors: {report[key]['errors']}")
    print(f"console events via {report['console_events']}; model {model.name}; {args.concurrency} chat(s) at a time")
    print(f"load: start {environment['uptime_at_start'].split('load average:')[-1].strip()}, "
          f"measuring {results['load'][0].split('load average:')[-1].strip()} -> "
          f"{results['load'][1].split('load average:')[-1].strip()}, "
          f"end {environment['uptime_at_end'].split('load average:')[-1].strip()} on {os.cpu_count()} cores "
          f"(other work on the machine inflates the figures)")
    print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
