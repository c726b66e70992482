"""Gateway throughput and reply latency against stock Rasa REST: `python -m bench.gateway`.

What runs (all on this machine, all stopped at the end, also on Ctrl-C or an error):
  - one trained model (`rasa train` into models/, skipped by Rasa when nothing changed; or --model);
  - the action server and --rasa-processes `rasa run` servers sharing it (bot.runner.Stack);
  - a fake Telegram Bot API (tests.fakes.telegram_api) that the gateway's python-telegram-bot talks to;
  - the gateway itself, `python -m bot.gateway`, as its own process, routing conversations over every
    Rasa server (RASA_URL lists them) and keeping its records in SQLite in a temporary folder.

What is measured, at each level of concurrency (1, 2, 4, 8, 16 conversations by default):
  - gateway: each concurrent conversation is a Telegram chat that sends `POST /webhooks/telegram` with
    a real Update; it sends its next message only once the previous one is fully handled (its replies
    sent and the inbox row closed), like a person who reads the answer first. Reply latency is from
    the start of the webhook POST to the fake Bot API receiving the first sendMessage for that chat.
  - Rasa REST: the same people with the same messages, `POST /webhooks/rest/webhook` on ONE Rasa
    server (the same model and action server, the same metadata the gateway sends); reply latency is
    the time to the HTTP answer, which carries every reply.
  After --conversation-length messages (10) a chat ends and a new person (chat) takes its place: Rasa's
  cost per turn grows with the length of the conversation (about 100 ms of CPU at 150 turns against
  30 ms at 10 here), and real conversations are short. Each chat first sends one untimed warm-up
  message (the gateway's privacy notice goes with it), all of them before the timing starts.
  A level stops after --seconds or --messages, whichever comes first, for each path; both budgets are
  split into --rounds runs (2) and the paths take turns, gateway first in one round and REST first in
  the next, so that other work on the machine weighs on both alike. Messages are real held-out texts of
  bench/nlu/heldout/*.yml: service questions naming a place, greetings, thanks, short answers, in
  all five languages; texts the model would read as distress, a wish for a human, erasure or "not
  understood" are left out (they open handoffs, after which the bot rightly stays silent).

Output: a table on stdout, the details in bench/gateway/last_run.json (CPU time per message of each
process, how conversations fell on the Rasa servers, the load average), and what the measured CPU
time per message allows on this machine's cores at best.

`--fake-rasa` replaces Rasa and the action server with canned replies (three, as a service question
gets): the gateway's own cost per message and its throughput alone, without training or Rasa.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.support import interrupted as _interrupted
from bench.support import percentile, stop_process
from bot.runner import ROOT, Stack, child_env, free_port, train, wait_until_ready
from tests.builders import telegram_message_update
from tests.fakes.telegram_api import Call, FakeTelegramAPI

RESULTS_FILE = Path(__file__).with_name("last_run.json")
HELDOUT = ROOT / "bench" / "nlu" / "heldout"
LANGS = ("en", "ar", "fa", "ps", "sr")
LEVELS = (1, 2, 4, 8, 16)
#: the issue's target: at this many conversations, this many times stock Rasa's throughput, p95 at most
TARGET_LEVEL, TARGET_RATIO, TARGET_P95_MS = 8, 1.5, 250.0
#: the message mix, by labelled intent (ask_service only where the text names a place)
MIX = {"ask_service": 40, "greet": 14, "thanks": 14, "affirm": 8, "deny": 8, "inform": 10, "goodbye": 6}
#: predicted intents that take a conversation away from the bot or end it: never sent
UNSAFE = {"express_distress", "child_alone", "request_human", "delete_my_data", "nlu_fallback"}
MARKUP = re.compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")
WEBHOOK_SECRET = "bench-webhook-secret-0123456789"
TURN_TIMEOUT = 30.0
SEED = 20261127


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- messages --------------------------------------------------------------------------------------


def load_messages() -> dict[str, dict[str, list[str]]]:
    """language -> intent -> plain texts (entity markup stripped), for the intents of MIX."""
    found: dict[str, dict[str, list[str]]] = {}
    for language in LANGS:
        doc = yaml.safe_load((HELDOUT / f"{language}.yml").read_text(encoding="utf-8"))
        by_intent: dict[str, list[str]] = {}
        for block in doc.get("nlu", []):
            intent = block.get("intent")
            if intent not in MIX:
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if not line.startswith("- "):
                    continue
                raw = line[2:].strip()
                if intent == "ask_service" and '"entity": "city"' not in raw:
                    continue  # a service question with a place
                text = MARKUP.sub(r"\1", raw).strip()
                if text:
                    by_intent.setdefault(intent, []).append(text)
        found[language] = by_intent
    return found


async def keep_safe(session: aiohttp.ClientSession, rasa_url: str,
                    messages: dict[str, dict[str, list[str]]]) -> tuple[dict[str, dict[str, list[str]]], list[str]]:
    """Leave out texts the model reads as one of UNSAFE (they would end or hand over the conversation)."""
    kept: dict[str, dict[str, list[str]]] = {}
    dropped: list[str] = []
    for language, by_intent in messages.items():
        kept[language] = {}
        for intent, texts in by_intent.items():
            for text in texts:
                async with session.post(f"{rasa_url}/model/parse", json={"text": text}) as response:
                    parsed = await response.json()
                predicted = (parsed.get("intent") or {}).get("name")
                if predicted in UNSAFE:
                    dropped.append(f"{language}/{intent}: {text!r} -> {predicted}")
                else:
                    kept[language].setdefault(intent, []).append(text)
    return kept, dropped


@dataclass
class Person:
    """One virtual person after another on one line: one language, a reproducible stream of messages,
    a new chat (a new person) every `length` messages, so that conversations stay as long as real
    ones (Rasa's cost per turn grows with the length of the conversation)."""

    index: int
    chats: list[int]  # each warmed up (its first message sent) before the timing starts
    language: str
    texts: dict[str, list[str]]
    rng: random.Random
    length: int
    sent: int = 0

    @property
    def chat_id(self) -> int:
        return self.chats[min(self.sent // self.length, len(self.chats) - 1)]

    def warmup(self) -> str:
        return self.rng.choice(self.texts.get("greet") or next(iter(self.texts.values())))

    def next_text(self) -> tuple[int, str]:
        """(chat, text) of the next message."""
        chat = self.chat_id
        self.sent += 1
        intents = [i for i in MIX if self.texts.get(i)]
        intent = self.rng.choices(intents, [MIX[i] for i in intents])[0]
        return chat, self.rng.choice(self.texts[intent])


def people(level: int, mode: str, messages: dict[str, dict[str, list[str]]], seed: int, budget: int,
           length: int, round_: int = 0) -> list[Person]:
    """The same people (languages, message streams) for both paths; chats differ by path and level.
    Each line gets chats for twice its share of the message budget (then it stays on its last chat)."""
    made = []
    chats = math.ceil(2 * budget / level / length) + 1
    base = {"gateway": 700_000_000, "rest": 800_000_000}[mode] + level * 1_000_000 + round_ * 100_000
    for i in range(level):
        language = LANGS[i % len(LANGS)]
        rng = random.Random(f"{seed}:{level}:{i}")
        made.append(Person(i, [base + i * 1000 + n for n in range(chats)], language, messages[language], rng,
                           length))
    return made


# -- one turn on each path ---------------------------------------------------------------------------


@dataclass
class Turn:
    latency: float | None = None  # seconds to the first reply; None: no reply (or an error)
    replies: int = 0
    error: str | None = None


@dataclass
class Waiter:
    """The replies seen for one chat since its latest webhook POST (filled from the fake's thread)."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    posted_at: float = float("inf")
    first_reply_at: float | None = None
    sends: int = 0


class GatewayPath:
    name = "gateway"

    def __init__(self, session: aiohttp.ClientSession, url: str, database: Path, fake: FakeTelegramAPI) -> None:
        self.session = session
        self.url = f"{url}/webhooks/telegram"
        self.update_ids = itertools.count(1)
        self.waiters: dict[str, Waiter] = {}
        self.loop = asyncio.get_running_loop()
        # The bench learns that a message is fully handled from the gateway's inbox row (read-only use).
        self.db = sqlite3.connect(str(database), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA query_only=ON")
        fake.on_call = self._on_call

    def close(self) -> None:
        self.db.close()

    def _on_call(self, call: Call) -> None:  # the fake's thread
        if call.method.lower() == "sendmessage":
            self.loop.call_soon_threadsafe(self._reply_seen, str(call.params.get("chat_id")), call.monotonic)

    def _reply_seen(self, chat: str, at: float) -> None:
        waiter = self.waiters.get(chat)
        if waiter is None or at < waiter.posted_at:
            return
        waiter.sends += 1
        if waiter.first_reply_at is None:
            waiter.first_reply_at = at
            waiter.event.set()

    def _handled(self, update_id: int) -> bool:
        row = self.db.execute("SELECT status FROM gw_inbox WHERE channel = 'telegram' AND message_key = ?",
                              (str(update_id),)).fetchone()
        return row is not None and row[0] != "pending"

    async def turn(self, chat: int, language: str, text: str) -> Turn:
        update_id = next(self.update_ids)
        body = json.dumps(telegram_message_update(update_id, chat, text, language_code=language))
        waiter = self.waiters[str(chat)] = Waiter()
        started = waiter.posted_at = time.monotonic()
        deadline = started + TURN_TIMEOUT
        async with self.session.post(self.url, data=body, headers={
                "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}) as response:
            await response.read()
            if response.status != 200:
                return Turn(error=f"webhook answered {response.status}")
        while not waiter.event.is_set():
            try:
                await asyncio.wait_for(waiter.event.wait(), 0.25)
            except asyncio.TimeoutError:
                if self._handled(update_id):
                    break  # handled without a reply
                if time.monotonic() > deadline:
                    return Turn(error="no reply in time")
        while not self._handled(update_id):  # the rest of the replies, then the inbox row closed
            if time.monotonic() > deadline:
                return Turn(error="not handled in time")
            await asyncio.sleep(0.004)
        first = waiter.first_reply_at
        return Turn(latency=None if first is None else first - started, replies=waiter.sends)


class RestPath:
    name = "rest"

    def __init__(self, session: aiohttp.ClientSession, rasa_url: str) -> None:
        self.session = session
        self.url = f"{rasa_url}/webhooks/rest/webhook"

    async def turn(self, chat: int, language: str, text: str) -> Turn:
        # The same metadata the gateway sends with each message, so that Rasa does the same work.
        body = {"sender": f"bench-{chat}", "message": text,
                "metadata": {"channel": "telegram", "language_hint": language}}
        started = time.monotonic()
        try:
            async with self.session.post(self.url, json=body,
                                         timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT)) as response:
                replies = await response.json() if response.status == 200 else None
                status = response.status
        except asyncio.TimeoutError:
            return Turn(error="no reply in time")
        latency = time.monotonic() - started
        if replies is None:
            return Turn(error=f"Rasa answered {status}")
        return Turn(latency=latency if replies else None, replies=len(replies))


# -- CPU time per process ------------------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(sessions: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) so far of every process in each named session, and of this process."""
    totals = dict.fromkeys(sessions, 0.0)
    by_sid = {sid: name for name, sid in sessions.items()}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        name = by_sid.get(int(fields[3]))  # session id (the 6th field; 4th after the name)
        if name is not None:
            totals[name] += (int(fields[11]) + int(fields[12])) / TICKS
    totals[HARNESS] = time.process_time()
    return totals


# -- a level ---------------------------------------------------------------------------------------


@dataclass
class Run:
    """One timed run of one path at one level."""

    turns: list[Turn]
    seconds: float
    cpu_seconds: dict[str, float]
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    chats_used: list[int]


async def run_level(path: GatewayPath | RestPath, crowd: list[Person], seconds: float, budget: int,
                    cpu: Callable[[], dict[str, float]]) -> Run:
    warm = await asyncio.gather(*(path.turn(chat, p.language, p.warmup()) for p in crowd for chat in p.chats))
    warm_errors = [t.error for t in warm if t.error]
    if warm_errors:
        raise RuntimeError(f"{path.name}: warm-up failed: {warm_errors[:3]}")
    turns: list[Turn] = []
    issued = 0
    load_before = os.getloadavg()
    cpu_before = cpu()
    started = time.monotonic()
    deadline = started + seconds

    async def person_loop(person: Person) -> None:
        nonlocal issued
        while issued < budget and time.monotonic() < deadline:
            issued += 1
            chat, text = person.next_text()
            turns.append(await path.turn(chat, person.language, text))

    await asyncio.gather(*(person_loop(p) for p in crowd))
    elapsed = time.monotonic() - started
    cpu_after = cpu()
    used = [c for p in crowd for c in p.chats[:math.ceil(p.sent / p.length)]]
    return Run(turns, elapsed, {n: cpu_after[n] - cpu_before.get(n, 0.0) for n in cpu_after}, load_before,
               os.getloadavg(), used)


def summarise(runs: list[Run]) -> dict[str, Any]:
    """The figures of a path at a level, over its rounds: messages / time, latencies pooled."""
    turns = [t for r in runs for t in r.turns]
    elapsed = sum(r.seconds for r in runs)
    latencies = [t.latency * 1000 for t in turns if t.latency is not None]
    done = [t for t in turns if t.error is None]
    cpu = {name: sum(r.cpu_seconds.get(name, 0.0) for r in runs) for name in runs[0].cpu_seconds}
    return {
        "messages": len(done),
        "seconds": round(elapsed, 2),
        "msgs_per_s": round(len(done) / elapsed, 2) if elapsed else 0.0,
        "rounds_msgs_per_s": [round(sum(1 for t in r.turns if t.error is None) / r.seconds, 2) for r in runs],
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "mean_ms": round(sum(latencies) / len(latencies), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "replies_per_message": round(sum(t.replies for t in done) / len(done), 2) if done else None,
        "no_reply": sum(1 for t in done if t.latency is None),
        "errors": dict(Counter(t.error for t in turns if t.error)),
        "cpu_ms_per_message": {name: round(v * 1000 / len(done), 1) for name, v in cpu.items()} if done else {},
        "cpu_busy_cores": round(sum(cpu.values()) / elapsed, 2) if elapsed else 0.0,
        "load_average": {"before": [round(x, 2) for x in runs[0].load_before],
                         "after": [round(x, 2) for x in runs[-1].load_after]},
    }


def rasa_split(database: Path, chats: list[int], servers: int) -> list[int]:
    """How many of these chats the gateway routes to each Rasa server (RasaClient.url_for's hash)."""
    counts = [0] * servers
    with contextlib.closing(sqlite3.connect(str(database))) as db:
        for chat in chats:
            row = db.execute("SELECT id FROM gw_conversation WHERE channel = 'telegram' AND address = ?",
                             (str(chat),)).fetchone()
            if row is not None:
                counts[int(hashlib.sha1(row[0].encode()).hexdigest(), 16) % servers] += 1
    return counts


# -- processes -------------------------------------------------------------------------------------


class FakeRasa:
    """--fake-rasa: Rasa and the action server replaced by canned answers (three replies, as a service
    question gets), on the bench's own thread, to measure the gateway's own cost alone."""

    REPLIES = [
        {"recipient_id": "x", "text": "Here is what I found for Legal help in Belgrade:"},
        {"recipient_id": "x", "text": "1. Legal aid centre, open now\nStreet 1, Belgrade\n\n2. Law clinic\nStreet 2"},
        {"recipient_id": "x", "text": "Can I help with anything else?", "buttons": [
            {"title": "Food", "payload": '/ask_service{"service_category": "food"}'},
            {"title": "Health", "payload": '/ask_service{"service_category": "health"}'}]},
    ]

    def __init__(self) -> None:
        self.port = free_port()
        self.rasa_url = f"http://127.0.0.1:{self.port}"
        self.rasa_urls = [self.rasa_url]
        self.actions_base_url = self.rasa_url  # /health answers for the action server too
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: Any = None

    def start(self) -> FakeRasa:
        import threading

        from aiohttp import web

        async def webhook(request: web.Request) -> web.Response:
            await request.read()
            return web.json_response(self.REPLIES)

        async def parse(request: web.Request) -> web.Response:
            return web.json_response({"intent": {"name": "greet", "confidence": 0.99}, "entities": []})

        async def health(request: web.Request) -> web.Response:
            return web.json_response({"status": "ok"})

        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", webhook)
        app.router.add_post("/model/parse", parse)
        app.router.add_get("/health", health)
        app.router.add_get("/status", health)
        ready = threading.Event()
        runner = web.AppRunner(app, access_log=None)

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-rasa", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Rasa did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None



@contextlib.contextmanager
def gateway_process(env: dict[str, str], port: int, log_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log_file, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "bot.gateway"], cwd=ROOT, env=child_env(**env),
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_ready(f"http://127.0.0.1:{port}/health", process, timeout=120)
            yield process
        finally:
            stop_process(process)


def prepare_database(path: Path) -> str:
    """The directory (curated data) and the gateway's tables, made once before any process opens them."""
    from bot.gateway.db import migrate as migrate_gateway
    from service_directory import open_directory

    url = f"sqlite:///{path}"
    engine = open_directory(url)
    migrate_gateway(engine)
    engine.dispose()
    return url


# -- the whole run ---------------------------------------------------------------------------------


async def measure(args: argparse.Namespace, stack: Stack | FakeRasa, gateway_url: str, database: Path,
                  fake: FakeTelegramAPI, sessions: dict[str, int]) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=128)
    async with aiohttp.ClientSession(connector=connector) as session:
        messages, dropped = await keep_safe(session, stack.rasa_url, load_messages())
        counts = {lang: sum(len(v) for v in by.values()) for lang, by in messages.items()}
        log(f"messages: {counts} kept, {len(dropped)} left out (read as {sorted(UNSAFE)})")
        gateway = GatewayPath(session, gateway_url, database, fake)
        rest = RestPath(session, stack.rasa_url)
        # Untimed: the first turns of a fresh Rasa process are slow (lazy imports, first graph runs).
        for rasa_url in stack.rasa_urls:
            for n, text in enumerate(["hello", "i need a doctor in belgrade", "thanks"] * 2):
                async with session.post(f"{rasa_url}/webhooks/rest/webhook",
                                        json={"sender": f"bench-warmup-{n}", "message": text}) as response:
                    await response.read()

        def cpu() -> dict[str, float]:
            return cpu_seconds(sessions)

        levels = []
        try:
            for level in args.levels:
                row: dict[str, Any] = {"level": level}
                paths: list[GatewayPath | RestPath] = [gateway, rest]
                if args.gateway_only or args.rest_only:
                    paths = [gateway] if args.gateway_only else [rest]
                runs: dict[str, list[Run]] = {path.name: [] for path in paths}
                for round_ in range(args.rounds):
                    # the order alternates round by round, so that neither path always goes first
                    for path in paths if round_ % 2 == 0 else paths[::-1]:
                        crowd = people(level, path.name, messages, args.seed + round_,
                                       math.ceil(args.messages / args.rounds), args.conversation_length, round_)
                        runs[path.name].append(await run_level(
                            path, crowd, args.seconds / args.rounds, math.ceil(args.messages / args.rounds), cpu))
                        await asyncio.sleep(0.5)
                for path in paths:
                    result = row[path.name] = summarise(runs[path.name])
                    if path is gateway:
                        used = [c for r in runs[path.name] for c in r.chats_used]
                        result["rasa_split"] = rasa_split(database, used, len(stack.rasa_urls))
                    log(f"level {level:>2} {path.name:<7}: {result['messages']:>4} msgs in {result['seconds']:5.1f} s"
                        f" = {result['msgs_per_s']:6.2f}/s {result['rounds_msgs_per_s']}  p50 {result['p50_ms']:7.1f}"
                        f"  p95 {result['p95_ms']:7.1f}  p99 {result['p99_ms']:7.1f} ms  no reply {result['no_reply']}"
                        f"  errors {result['errors']}  load {result['load_average']['after'][0]:.2f}"
                        + (f"  rasa split {result['rasa_split']}" if "rasa_split" in result else ""))
                if "gateway" in row and "rest" in row and row["rest"]["msgs_per_s"]:
                    row["ratio"] = round(row["gateway"]["msgs_per_s"] / row["rest"]["msgs_per_s"], 2)
                levels.append(row)
        finally:
            gateway.close()
        return {"levels": levels, "messages_kept": counts, "messages_left_out": dropped}


def table(levels: list[dict[str, Any]]) -> str:
    def cells(result: dict[str, Any] | None) -> str:
        if result is None:
            return f"{'-':>7} {'-':>7} {'-':>7} {'-':>7}"
        return (f"{result['msgs_per_s']:7.2f} {result['p50_ms']:7.0f} {result['p95_ms']:7.0f} "
                f"{result['p99_ms']:7.0f}")

    def load(row: dict[str, Any]) -> str:
        return "/".join(f"{row[m]['load_average']['after'][0]:.1f}" for m in ("gateway", "rest") if m in row)

    lines = [f"{'':5} | {'gateway (Telegram webhook)':^31} | {'stock Rasa REST (1 server)':^31} |",
             f"{'level':>5} | {'msg/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} | {'msg/s':>7} {'p50':>7} {'p95':>7} "
             f"{'p99':>7} | {'ratio':>5} | load",
             "-" * 96]
    for row in levels:
        ratio = f"{row['ratio']:5.2f}" if "ratio" in row else f"{'-':>5}"
        lines.append(f"{row['level']:>5} | {cells(row.get('gateway'))} | {cells(row.get('rest'))} | {ratio} | "
                     f"{load(row)}")
    lines.append("latencies in ms; gateway: webhook POST to the first sendMessage; REST: POST to the answer;")
    lines.append("load: 1-minute load average after the gateway / REST run (other work on the machine counts too)")
    return "\n".join(lines)


def cpu_table(levels: list[dict[str, Any]]) -> str:
    names: list[str] = []
    for row in levels:
        for mode in ("gateway", "rest"):
            for name in row.get(mode, {}).get("cpu_ms_per_message", {}):
                if name not in names:
                    names.append(name)
    lines = ["CPU ms per message (all processes' user+system time over the level / messages):",
             f"{'level':>5} {'path':<8} " + " ".join(f"{n[:14]:>14}" for n in names) + f" {'busy cores':>10}"]
    for row in levels:
        for mode in ("gateway", "rest"):
            result = row.get(mode)
            if result is None:
                continue
            per = result["cpu_ms_per_message"]
            lines.append(f"{row['level']:>5} {mode:<8} " + " ".join(f"{per.get(n, 0.0):14.1f}" for n in names)
                         + f" {result['cpu_busy_cores']:10.2f}")
    return "\n".join(lines)


HARNESS = "bench (load + fake Telegram)"


def ceilings(row: dict[str, Any], cores: int) -> dict[str, Any] | None:
    """The throughput the measured CPU per message allows on this machine with nothing else running:
    every process of a path shares the cores, and one Rasa process can use one core at most."""
    if "gateway" not in row or "rest" not in row:
        return None
    gateway, rest = row["gateway"]["cpu_ms_per_message"], row["rest"]["cpu_ms_per_message"]
    if not gateway or not rest:
        return None
    rasa_gateway = sum(v for k, v in gateway.items() if k.startswith("rasa"))
    gateway_total = sum(gateway.values())
    rest_total = sum(v for k, v in rest.items() if k != "gateway")
    rest_rasa = sum(v for k, v in rest.items() if k.startswith("rasa"))
    gateway_ceiling = 1000 * cores / gateway_total
    rest_ceiling = min(1000 * cores / rest_total, 1000 / rest_rasa) if rest_rasa else float("nan")
    return {"cores": cores,
            "gateway_path_cpu_ms_per_message": round(gateway_total, 1),
            "of_which_gateway_ms": gateway.get("gateway"), "of_which_rasa_ms": round(rasa_gateway, 1),
            "of_which_harness_ms": gateway.get(HARNESS),
            "rest_path_cpu_ms_per_message": round(rest_total, 1), "rest_rasa_ms": round(rest_rasa, 1),
            "gateway_msgs_per_s": round(gateway_ceiling, 1), "rest_msgs_per_s": round(rest_ceiling, 1),
            "best_ratio": round(gateway_ceiling / rest_ceiling, 2),
            "gateway_ms_allowed_for_target": round(
                1000 * cores / (TARGET_RATIO * rest_ceiling) - (gateway_total - (gateway.get("gateway") or 0.0)), 1)}


def verdict(levels: list[dict[str, Any]]) -> dict[str, Any] | None:
    row = next((r for r in levels if r["level"] == TARGET_LEVEL and "ratio" in r), None)
    if row is None:
        return None
    ratio, p95 = row["ratio"], row["gateway"]["p95_ms"]
    return {"level": TARGET_LEVEL, "ratio": ratio, "ratio_target": TARGET_RATIO, "p95_ms": p95,
            "p95_target_ms": TARGET_P95_MS, "met": ratio >= TARGET_RATIO and p95 <= TARGET_P95_MS,
            "cpu_ceilings": ceilings(row, os.cpu_count() or 1)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a trained model (.tar.gz); default: train into models/")
    parser.add_argument("--rasa-processes", type=int, default=2, help="Rasa servers behind the gateway (default 2)")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")], default=list(LEVELS),
                        help="concurrent conversations, comma-separated (default 1,2,4,8,16)")
    parser.add_argument("--seconds", type=float, default=20.0, help="time limit of one level and path (default 20)")
    parser.add_argument("--messages", type=int, default=200, help="message limit of one level and path (default 200)")
    parser.add_argument("--conversation-length", type=int, default=10,
                        help="messages of one chat before the next person (chat) starts (default 10)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="split each level into this many runs per path, alternating which path goes first, "
                             "so that other work on the machine weighs on both alike (default 2)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=RESULTS_FILE, help="where the figures go (JSON)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, database)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--gateway-only", action="store_true", help="measure the gateway path only")
    only.add_argument("--rest-only", action="store_true", help="measure stock Rasa REST only")
    parser.add_argument("--fake-rasa", action="store_true",
                        help="no Rasa: canned replies, the gateway path only (the gateway's own cost alone)")
    args = parser.parse_args(argv)
    if args.fake_rasa:
        if args.rest_only:
            parser.error("--fake-rasa measures the gateway path only")
        args.gateway_only = True
    if args.rasa_processes < 1:
        parser.error("--rasa-processes must be at least 1")
    if args.rounds < 1 or args.conversation_length < 1:
        parser.error("--rounds and --conversation-length must be at least 1")
    if args.model is not None and not args.model.is_file():
        parser.error(f"--model {args.model}: no such file (Rasa would quietly load the newest in models/)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGINT, signal.SIGTERM):  # every process is stopped on the way out
        signal.signal(signum, _interrupted)
    with contextlib.suppress(ImportError):  # the lighter the harness, the less it takes from the servers
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    folder = Path(tempfile.mkdtemp(prefix="putokaz-bench-gateway-"))
    started = time.monotonic()
    environment: dict[str, Any] = {
        "python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "uptime_at_start": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }
    log(f"bench.gateway: load at start: {environment['uptime_at_start']}")
    ok = False
    try:
        with contextlib.ExitStack() as cleanup:
            model = args.model
            if model is None and not args.fake_rasa:
                log("training the model (Rasa skips it when nothing changed)...")
                t0 = time.monotonic()
                model = train(quiet=True)
                if model is None:
                    log("rasa train failed")
                    return 1
                log(f"model {model.name} ready in {time.monotonic() - t0:.0f} s")
            database = folder / "putokaz.db"
            database_url = prepare_database(database)
            servers: Stack | FakeRasa
            if args.fake_rasa:
                servers = FakeRasa().start()
                cleanup.callback(servers.stop)
                actions_url = servers.actions_base_url
            else:
                assert model is not None
                servers = stack = Stack(model=model.resolve(), rasa_port=free_port(), actions_port=free_port(),
                                        env={"DATABASE_URL": database_url}, log_dir=folder / "logs",
                                        extra_rasa=args.rasa_processes - 1)
                cleanup.callback(stack.stop)
                log(f"starting the action server and {args.rasa_processes} Rasa server(s)...")
                t0 = time.monotonic()
                stack.start(timeout=600)
                log(f"Rasa ready in {time.monotonic() - t0:.0f} s: {', '.join(stack.rasa_urls)}")
                actions_url = f"http://127.0.0.1:{stack.actions_port}"
            (folder / "logs").mkdir(parents=True, exist_ok=True)
            fake = FakeTelegramAPI().start()
            cleanup.callback(fake.stop)
            port = free_port()
            gateway_env = {
                "RASA_URL": ",".join(servers.rasa_urls), "PUTOKAZ_ACTIONS_URL": actions_url,
                "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.base_url,
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET, "DATABASE_URL": database_url, "REDIS_URL": "",
                "WHATSAPP_TOKEN": "", "WHATSAPP_PHONE_NUMBER_ID": "",
                "PUTOKAZ_RATE_LIMIT_PER_MINUTE": "1000000", "PUTOKAZ_TEAM_HOURS": "mo-su 00:00-24:00",
                "PUTOKAZ_DATA_DIR": str(folder / "data"), "PUTOKAZ_SECRET_KEY": "bench-secret-key-0123456789abcdef",
                "PUTOKAZ_HOST": "127.0.0.1", "PUTOKAZ_PORT": str(port),
            }
            gateway = cleanup.enter_context(gateway_process(gateway_env, port, folder / "logs" / "gateway.log"))
            sessions = {"gateway": gateway.pid}
            if isinstance(servers, Stack):
                sessions["actions"] = servers.processes[0].pid
                for n, process in enumerate(servers.processes[1:]):
                    sessions[f"rasa-{n + 1}"] = process.pid
            log(f"gateway ready on :{port}; measuring levels {args.levels} ({args.seconds:g} s or "
                f"{args.messages} messages each)")
            results = asyncio.run(measure(args, servers, f"http://127.0.0.1:{port}", database, fake, sessions))
            ok = True
    except KeyboardInterrupt:
        log("interrupted: every process started here has been stopped")
        return 130
    finally:
        if args.keep or not ok:
            log(f"logs and database kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)

    environment["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    environment["uptime_at_end"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    levels = results["levels"]
    report = {
        "what": "gateway (Telegram webhooks -> Rasa x N -> fake Bot API) vs stock Rasa REST on one server",
        "command": "python -m bench.gateway " + " ".join(argv if argv is not None else sys.argv[1:]),
        "model": model.name if model is not None else None, "fake_rasa": args.fake_rasa,
        "rasa_processes_behind_gateway": 0 if args.fake_rasa else args.rasa_processes,
        "seconds_per_level": args.seconds, "messages_per_level": args.messages, "seed": args.seed,
        "conversation_length": args.conversation_length, "rounds": args.rounds,
        "mix": MIX, "environment": environment, "levels": levels, "target": verdict(levels),
        "messages_kept": results["messages_kept"], "messages_left_out": results["messages_left_out"],
        "wall_seconds": round(time.monotonic() - started, 1),
    }
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(levels))
    print()
    print(cpu_table(levels))
    print()
    target = report["target"]
    if target is not None:
        print(f"target at {TARGET_LEVEL} conversations: >= {TARGET_RATIO}x stock Rasa REST throughput and p95 <= "
              f"{TARGET_P95_MS:g} ms: ratio {target['ratio']:.2f}, p95 {target['p95_ms']:.0f} ms -> "
              f"{'MET' if target['met'] else 'MISSED'}")
        ceiling = target["cpu_ceilings"]
        if ceiling is not None:
            print(f"CPU ceiling at {TARGET_LEVEL} conversations on {ceiling['cores']} cores with nothing else running: "
                  f"gateway path {ceiling['gateway_path_cpu_ms_per_message']} ms CPU/message (gateway "
                  f"{ceiling['of_which_gateway_ms']}, Rasa {ceiling['of_which_rasa_ms']}, bench harness "
                  f"{ceiling['of_which_harness_ms']}) -> at most {ceiling['gateway_msgs_per_s']} msg/s; REST "
                  f"{ceiling['rest_path_cpu_ms_per_message']} ms, one Rasa process {ceiling['rest_rasa_ms']} ms/turn "
                  f"-> at most {ceiling['rest_msgs_per_s']} msg/s; best possible ratio {ceiling['best_ratio']}. "
                  f"1.5x would need the gateway at {ceiling['gateway_ms_allowed_for_target']} ms CPU/message or less.")
    print(f"load: start {environment['uptime_at_start'].split('load average:')[-1].strip()}, "
          f"end {environment['uptime_at_end'].split('load average:')[-1].strip()} on {os.cpu_count()} cores "
          f"(other work on the machine inflates the figures)")
    print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
