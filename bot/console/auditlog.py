"""Reading the audit trail (gw_audit): filtered pages, CSV, and the record of transcript reads."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine

from bot.console.accounts import _aware, _iso, audit_in, now
from bot.gateway import tables as t

MAX_ENTRIES = 5000
READ_WINDOW = dt.timedelta(minutes=5)  # background refreshes of an open conversation: one row per window
CSV_COLUMNS = ("id", "at", "actor", "action", "target", "detail")


def entries(engine: Engine, action: str | None = None, user: str | None = None, limit: int = 200,
            before: int | None = None) -> list[dict[str, Any]]:
    """The newest entries first; `user` matches who acted or whose account was acted on."""
    query = select(t.audit).order_by(t.audit.c.id.desc()).limit(max(1, min(limit, MAX_ENTRIES)))
    if action:
        query = query.where(t.audit.c.action == action)
    if user:
        query = query.where(or_(t.audit.c.actor == user, t.audit.c.target == user))
    if before:
        query = query.where(t.audit.c.id < before)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [{"id": r.id, "at": _iso(_aware(r.at)), "actor": r.actor, "action": r.action, "target": r.target,
             "detail": r.detail} for r in rows]


def actions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(t.audit.c.action).distinct()).scalars())


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else ("" if value is None else json.dumps(value, ensure_ascii=False))
    # a spreadsheet must not run a user name or a detail as a formula
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[name]) if name != "id" else row["id"] for name in CSV_COLUMNS])
    return out.getvalue()


def record_read(engine: Engine, actor: str, handoff_id: int, background: bool,
                detail: dict[str, Any]) -> bool:
    """Audit that `actor` read a handoff's transcript. Opening it always writes a row; the page's own
    refreshes (new messages while it is open) write one only if this actor has no read of it in the
    last READ_WINDOW, so each read is covered without a row every three seconds. Written or not."""
    moment = now()
    with engine.begin() as conn:
        if background:
            recent = conn.execute(select(t.audit.c.id).where(and_(
                t.audit.c.target == str(handoff_id), t.audit.c.action == "transcript_read",
                t.audit.c.actor == actor, t.audit.c.at >= moment - READ_WINDOW)).limit(1)).first()
            if recent is not None:
                return False
        audit_in(conn, actor, "transcript_read", str(handoff_id), {**detail, "background": background}, moment)
    return True
