"""Putokaz's curated service directory: a library that knows nothing of Rasa, channels or handoffs."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from .categories import CATEGORIES, CATEGORY_CODES, LANGUAGES, category_label
from .curation import CurationError, Problem, read_directory
from .db import make_engine, migrate
from .loader import load, load_bundled_if_needed
from .places import NATIONAL, PLACE_SLUGS, PLACES, Place, place_name
from .query import Query, UnknownCode, all_services, distance_km, get_service, record_unmet_need, search
from .records import Location, Organisation, Phone, Schedule, SearchHit, Service, Source, pick
from .schedule import describe as describe_schedule
from .schedule import is_open, next_opening

__all__ = [
    "CATEGORIES", "CATEGORY_CODES", "LANGUAGES", "NATIONAL", "PLACES", "PLACE_SLUGS",
    "CurationError", "Location", "Organisation", "Phone", "Place", "Problem", "Query", "Schedule",
    "SearchHit", "Service", "Source", "UnknownCode",
    "all_services", "category_label", "describe_schedule", "distance_km", "get_service", "is_open",
    "load", "load_bundled_if_needed", "make_engine", "migrate", "next_opening", "open_directory",
    "pick", "place_name", "read_directory", "record_unmet_need", "search",
]


def open_directory(url: str | None = None, load_bundled: bool = True) -> Engine:
    """An engine on a migrated directory database, with the bundled curated data loaded if needed."""
    engine = make_engine(url)
    migrate(engine)
    if load_bundled:
        load_bundled_if_needed(engine)
    return engine
