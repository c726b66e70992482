"""Small builders of test data: curated YAML text and records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def service_entry(sid: str = "svc-1", **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": sid,
        "name": {"en": f"Service {sid}", "sr": f"Usluga {sid}", "ar": f"خدمة {sid}"},
        "description": {"en": "Free legal advice."},
        "categories": ["legal_aid"],
        "status": "active",
        "locations": [{"id": f"{sid}-loc", "city": "belgrade"}],
        "sources": [{"url": "https://example.org/source", "date": "2025-01-01"}],
        "last_verified": "2025-01-01",
    }
    entry.update(overrides)
    return entry


def organisation_doc(org_id: str = "org-1", services: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "organisation": {"id": org_id, "kind": "ngo", "name": {"en": f"Organisation {org_id}"}},
        "services": services if services is not None else [service_entry(f"{org_id}-s1")],
    }


def write_yaml(folder: Path, name: str, doc: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def telegram_message_update(update_id: int, chat_id: int, text: str | None = None, language_code: str = "en",
                            **message_fields: Any) -> dict[str, Any]:
    """A Telegram `Update` with a private message, as Telegram documents it."""
    message: dict[str, Any] = {
        "message_id": update_id * 10, "date": 1_764_000_000,
        "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "Test", "language_code": language_code},
    }
    if text is not None:
        message["text"] = text
    message.update(message_fields)
    return {"update_id": update_id, "message": message}


def telegram_button_update(update_id: int, chat_id: int, data: str) -> dict[str, Any]:
    return {"update_id": update_id, "callback_query": {
        "id": f"cb{update_id}", "chat_instance": "ci", "data": data,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Test", "language_code": "en"},
        "message": {"message_id": 1, "date": 1_764_000_000, "chat": {"id": chat_id, "type": "private"},
                    "text": "menu"}}}


def whatsapp_text_payload(wa_id: str, message_id: str, text: str, phone_number_id: str = "123") -> dict[str, Any]:
    """A WhatsApp Cloud API webhook body with one text message, as Meta documents it."""
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "381600000000", "phone_number_id": phone_number_id},
        "contacts": [{"profile": {"name": "Test"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": message_id, "timestamp": "1764000000", "type": "text",
                      "text": {"body": text}}]}}]}]}
