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
