"""`putokaz telegram ...`: point Telegram's webhook at the gateway, remove it, or inspect it."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from bot.channels.telegram import TelegramChannel

WEBHOOK_PATH = "/webhooks/telegram"
# What Telegram accepts as secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class _MissingSetting(Exception):
    pass


def register(areas: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    telegram = areas.add_parser(
        "telegram", help="the Telegram bot's webhook",
        description="Reads TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET and TELEGRAM_API_BASE_URL "
                    "from the environment.")
    commands = telegram.add_subparsers(dest="command", required=True, metavar="COMMAND")

    drop = "discard updates waiting at Telegram"
    s = commands.add_parser("set-webhook", help="have Telegram deliver updates to URL")
    s.add_argument("url", metavar="URL",
                   help=f"public HTTPS address, e.g. https://example.org{WEBHOOK_PATH}")
    s.add_argument("--drop-pending-updates", action="store_true", help=drop)
    s.add_argument("--no-secret", action="store_true",
                   help="allow a webhook without TELEGRAM_WEBHOOK_SECRET "
                        "(anyone could then post fake updates)")
    s.set_defaults(handler=_set_webhook)

    d = commands.add_parser("delete-webhook",
                            help="stop webhook delivery (needed before long polling)")
    d.add_argument("--drop-pending-updates", action="store_true", help=drop)
    d.set_defaults(handler=_delete_webhook)

    i = commands.add_parser("webhook-info", help="show the current webhook and its last error")
    i.set_defaults(handler=_webhook_info)


def _env(name: str, what: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise _MissingSetting(f"{name} is not set ({what})")
    return value


def _run(work: Callable[[TelegramChannel], Awaitable[int]], secret_required: bool = False,
         allow_no_secret: bool = False) -> int:
    from bot.channels.base import SendFailed
    from bot.channels.telegram import TelegramChannel

    try:
        token = _env("TELEGRAM_BOT_TOKEN", "the bot's token from @BotFather")
        secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
        if secret_required and secret is None and not allow_no_secret:
            _env("TELEGRAM_WEBHOOK_SECRET", "a random string of A-Z, a-z, 0-9, _ and -; "
                 "the gateway checks it on every update. --no-secret to go without")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise _MissingSetting("TELEGRAM_WEBHOOK_SECRET may only hold 1-256 characters "
                                  "A-Z, a-z, 0-9, _ and -")
    except _MissingSetting as exc:
        print(f"putokaz: {exc}", file=sys.stderr)
        return 2
    base_url = os.environ.get("TELEGRAM_API_BASE_URL", "").strip() or None

    async def main() -> int:
        channel = TelegramChannel(token, secret, base_url)
        try:
            return await work(channel)
        except SendFailed as exc:
            print(f"putokaz: Telegram refused: {exc}", file=sys.stderr)
            return 1
        finally:
            await channel.close()

    return asyncio.run(main())


def _set_webhook(args: argparse.Namespace) -> int:
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        print(f"putokaz: {args.url!r} is not an absolute http(s) URL", file=sys.stderr)
        return 2
    if parts.scheme != "https":
        print("putokaz: warning: Telegram's own servers only deliver to https:// URLs",
              file=sys.stderr)
    if not parts.path.rstrip("/").endswith(WEBHOOK_PATH):
        print(f"putokaz: warning: the gateway takes Telegram updates at {WEBHOOK_PATH}",
              file=sys.stderr)

    async def work(channel: TelegramChannel) -> int:
        secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
        await channel.set_webhook(args.url, secret, drop_pending_updates=args.drop_pending_updates)
        print(f"Telegram now delivers updates to {args.url}"
              + (" with the secret header." if secret else " WITHOUT a secret header."))
        return 0

    return _run(work, secret_required=True, allow_no_secret=args.no_secret)


def _delete_webhook(args: argparse.Namespace) -> int:
    async def work(channel: TelegramChannel) -> int:
        await channel.delete_webhook(drop_pending_updates=args.drop_pending_updates)
        print("Webhook removed; updates now wait for getUpdates (long polling).")
        return 0

    return _run(work)


def _webhook_info(args: argparse.Namespace) -> int:
    async def work(channel: TelegramChannel) -> int:
        info: dict[str, Any] = await channel.webhook_info()
        print(f"URL: {info.get('url') or '(none: long polling)'}")
        print(f"Pending updates: {info.get('pending_update_count', 0)}")
        if info.get("allowed_updates"):
            print(f"Update types: {', '.join(info['allowed_updates'])}")
        if info.get("last_error_message"):
            print(f"Last error: {info['last_error_message']} (at {info.get('last_error_date')})")
        return 0

    return _run(work)
