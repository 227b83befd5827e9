"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no exact decimal and no time zones; these types keep amounts exact (stored as text) and
timestamps always timezone-aware UTC, so engine code never branches on the dialect.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamp stored in UTC; naive values are refused so no local time leaks in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: crmsync stores timezone-aware UTC timestamps only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        bind_param = self.process_bind_param

        # SQLite keeps the text SQLAlchemy's DATETIME writes, "YYYY-MM-DD HH:MM:SS.ffffff" (here in UTC):
        # isoformat builds the same text in one call (it leaves out a zero microsecond part, added back).
        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is UTC:  # most values (parsed from sources, the page's clock): the text less "+00:00"
                text = value.isoformat(" ")[:-6]
            else:
                naive = bind_param(value, dialect)
                assert naive is not None
                text, value = naive.isoformat(" "), naive
            return text if value.microsecond else text + ".000000"

        return process


class ExactDecimal(TypeDecorator[Decimal]):
    """Money amount: NUMERIC on PostgreSQL, exact text on SQLite (whose NUMERIC is a float)."""

    impl = String(40)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(24, 6))
        return dialect.type_descriptor(String(40))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        return value if dialect.name == "postgresql" else format(value, "f")

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def json_default(value: Any) -> Any:
    """JSON encoding for the values crmsync keeps in JSON columns (change log, conflicts, custom fields)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} in a JSON column")


# orjson: the JSON columns (provenance on every entity row, the change log, cursors) are encoded once per written
# row, and the standard library's encoder was a tenth of ingest time. It writes datetimes as isoformat() does.
_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps_json(value: Any) -> str:
    """Serializer handed to the SQLAlchemy engine for every JSON column (compact, no spaces)."""
    return orjson.dumps(value, default=json_default, option=_OPTIONS).decode()


def loads_json(text: str | bytes) -> Any:
    """Deserializer handed to the SQLAlchemy engine for every JSON column."""
    return orjson.loads(text)
