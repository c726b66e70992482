"""SQLAlchemy tables of the directory, aligned with Open Referral HSDS 3.0.

Multilingual texts are JSON objects {language: text}; HSDS's plain `name` and `description`
are the English texts and the other languages travel as HSDS `attribute`s on export.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import declarative_base, relationship

Base: Any = declarative_base()


class Organisation(Base):
    __tablename__ = "organization"

    id = Column(String(64), primary_key=True)
    kind = Column(String(16), nullable=False)
    name = Column(JSON, nullable=False)
    website = Column(String(300), nullable=False, default="")
    email = Column(String(200), nullable=False, default="")
    source_file = Column(String(300), nullable=False, default="")

    services = relationship("ServiceRow", back_populates="organisation", cascade="all, delete-orphan")


class ServiceRow(Base):
    __tablename__ = "service"

    id = Column(String(64), primary_key=True)
    organization_id = Column(String(64), ForeignKey("organization.id", ondelete="CASCADE"), nullable=False, index=True)
    name = Column(JSON, nullable=False)
    description = Column(JSON, nullable=False)
    status = Column(String(24), nullable=False, index=True)
    status_note = Column(JSON, nullable=False)
    email = Column(String(200), nullable=False, default="")
    url = Column(String(300), nullable=False, default="")
    age_min = Column(Integer, nullable=True)
    age_max = Column(Integer, nullable=True)
    last_verified = Column(Date, nullable=False)

    organisation = relationship("Organisation", back_populates="services")
    categories = relationship("ServiceCategory", cascade="all, delete-orphan", lazy="selectin",
                              order_by="ServiceCategory.position")
    audiences = relationship("ServiceAudience", cascade="all, delete-orphan", lazy="selectin")
    languages = relationship("ServiceLanguage", cascade="all, delete-orphan", lazy="selectin")
    areas = relationship("ServiceArea", cascade="all, delete-orphan", lazy="selectin")
    phones = relationship("PhoneRow", cascade="all, delete-orphan", lazy="selectin", order_by="PhoneRow.position")
    sources = relationship("SourceRow", cascade="all, delete-orphan", lazy="selectin", order_by="SourceRow.position")
    schedule = relationship("ScheduleRow", cascade="all, delete-orphan", uselist=False, lazy="selectin")
    at_locations = relationship("ServiceAtLocation", cascade="all, delete-orphan", lazy="selectin")


class ServiceCategory(Base):
    __tablename__ = "service_category"

    service_id = Column(String(64), ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    code = Column(String(32), primary_key=True)
    position = Column(Integer, nullable=False, default=0, server_default="0")  # 0: the service's main category
    __table_args__ = (Index("ix_service_category_code", "code", "service_id"),)


class ServiceAudience(Base):
    __tablename__ = "service_audience"

    service_id = Column(String(64), ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    code = Column(String(32), primary_key=True)


class ServiceLanguage(Base):
    __tablename__ = "service_language"

    service_id = Column(String(64), ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    code = Column(String(8), primary_key=True)
    __table_args__ = (Index("ix_service_language_code", "code", "service_id"),)


class ServiceArea(Base):
    __tablename__ = "service_area"

    service_id = Column(String(64), ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    place = Column(String(32), primary_key=True)
    __table_args__ = (Index("ix_service_area_place", "place", "service_id"),)


class PhoneRow(Base):
    __tablename__ = "phone"

    id = Column(Integer, primary_key=True, autoincrement=True)
    service_id = Column(String(64), ForeignKey("service.id", ondelete="CASCADE"), nullable=False, index=True)
    position = Column(Integer, nullable=False, default=0)
    number = Column(String(64), nullable=False)
    kind = Column(String(16), nullable=False, default="voice")
    note = Column(JSON, nullable=False)


class SourceRow(Base):
    __tablename__ = "source"

    id = Column(Integer, primary_key=True, autoincrement=True)
    service_id = Column(String(64), ForeignKey("service.id", ondelete="CASCADE"), nullable=False, index=True)
    position = Column(Integer, nullable=False, default=0)
    url = Column(Text, nullable=False)
    date = Column(Date, nullable=True)
    note = Column(Text, nullable=False, default="")


class LocationRow(Base):
    __tablename__ = "location"

    id = Column(String(80), primary_key=True)
    city = Column(String(32), nullable=False, index=True)
    address = Column(JSON, nullable=False)
    directions = Column(JSON, nullable=False)
    latitude = Column(Float, nullable=True)
    longitude = Column(Float, nullable=True)
    precision = Column(String(8), nullable=False, default="town")


class ServiceAtLocation(Base):
    __tablename__ = "service_at_location"

    service_id = Column(String(64), ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)
    location_id = Column(String(80), ForeignKey("location.id", ondelete="CASCADE"), primary_key=True, index=True)

    location = relationship("LocationRow", lazy="joined")


class ScheduleRow(Base):
    __tablename__ = "schedule"

    id = Column(Integer, primary_key=True, autoincrement=True)
    service_id = Column(String(64), ForeignKey("service.id", ondelete="CASCADE"), nullable=False, unique=True)
    always_open = Column(Boolean, nullable=False, default=False)
    closed_on_public_holidays = Column(Boolean, nullable=False, default=False)
    note = Column(JSON, nullable=False)

    slots = relationship("ScheduleSlot", cascade="all, delete-orphan", lazy="selectin")
    exceptions = relationship("ScheduleExceptionRow", cascade="all, delete-orphan", lazy="selectin")


class ScheduleSlot(Base):
    __tablename__ = "schedule_slot"

    id = Column(Integer, primary_key=True, autoincrement=True)
    schedule_id = Column(Integer, ForeignKey("schedule.id", ondelete="CASCADE"), nullable=False, index=True)
    weekday = Column(Integer, nullable=False)  # 0 = Monday
    opens_minute = Column(Integer, nullable=False)
    closes_minute = Column(Integer, nullable=False)  # up to 1440


class ScheduleExceptionRow(Base):
    __tablename__ = "schedule_exception"

    id = Column(Integer, primary_key=True, autoincrement=True)
    schedule_id = Column(Integer, ForeignKey("schedule.id", ondelete="CASCADE"), nullable=False, index=True)
    date = Column(Date, nullable=False)
    closed = Column(Boolean, nullable=False, default=True)
    opens_minute = Column(Integer, nullable=True)
    closes_minute = Column(Integer, nullable=True)


class UnmetNeed(Base):
    """A search that found nothing: category, place, language, time. No personal data."""

    __tablename__ = "unmet_need"

    id = Column(Integer, primary_key=True, autoincrement=True)
    category = Column(String(32), nullable=True)
    place = Column(String(32), nullable=True)
    language = Column(String(8), nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False)


class DirectoryMeta(Base):
    """Facts about the loaded data, e.g. the fingerprint of the curated files last loaded."""

    __tablename__ = "directory_meta"

    key = Column(String(64), primary_key=True)
    value = Column(Text, nullable=False)
