"""The console's JSON API (SPEC.md): login, queue, claim, transcript, replies, close."""

from __future__ import annotations

from sanic import Blueprint


def console_blueprint() -> Blueprint:
    return Blueprint("console", url_prefix="/console")
