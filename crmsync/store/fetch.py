"""Batched reads for the ingest path: SELECT columns WHERE filters AND column IN (keys), on the driver.

A compiled `select(...).where(col.in_(keys))` re-expands the IN list's parameters on every call and runs each
row through SQLAlchemy's result machinery: for a page of keys that cost three times the database's own work.
Here the statement text is built once per shape and IN-list size, runs through `exec_driver_sql` (the same
connection and transaction, SQLAlchemy's error wrapping), and only the columns whose type has a result
processor for the dialect (UtcDateTime, JSON on SQLite, ExactDecimal ...) are processed, by that processor.
IN lists are padded to a few sizes by repeating a key, so SQLite's statement cache and ours stay small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import JSON, Connection, Table
from sqlalchemy.engine import Dialect

CHUNK = 512  # keys per statement: far below SQLite's and PostgreSQL's bound-parameter limits
_SIZES = (8, 32, 128, CHUNK)

Processors = tuple[tuple[int, Callable[[Any], Any]], ...]


@cache
def _binds(table: Table, columns: tuple[str, ...], dialect: Dialect) -> tuple[Callable[[Any], Any] | None, ...]:
    return tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns)


@cache
def _sql(table: Table, columns: tuple[str, ...], equal: tuple[str, ...], null: tuple[str, ...], in_column: str,
         size: int, dialect: Dialect) -> str:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    where = [f"{quote(c)} = {mark}" for c in equal] + [f"{quote(c)} IS NULL" for c in null]
    where.append(f"{quote(in_column)} IN ({', '.join(mark for _ in range(size))})")
    return f"SELECT {', '.join(map(quote, columns))} FROM {quote(table.name)} WHERE {' AND '.join(where)}"


@cache
def _processors(table: Table, columns: tuple[str, ...], dialect: Dialect, coltypes: tuple[Any, ...]) -> Processors:
    """Result processors of the columns that have one. They are asked for with the driver's own type code of each
    result column (`cursor.description`), as SQLAlchemy does: PostgreSQL's NUMERIC processor depends on it."""
    processors = []
    for index, (name, coltype) in enumerate(zip(columns, coltypes, strict=True)):
        process = table.c[name].type.dialect_impl(dialect).result_processor(dialect, coltype)
        if process is not None:
            processors.append((index, _json_empties(process) if isinstance(table.c[name].type, JSON) else process))
    return tuple(processors)


def _json_empties(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Empty JSON objects and arrays (most custom-field and list columns) without a trip through the decoder."""

    def decode(value: Any) -> Any:
        if value == "{}":
            return {}
        if value == "[]":
            return []
        return process(value)

    return decode


def select_in(conn: Connection, table: Table, columns: Sequence[str], in_column: str, keys: Sequence[Any],
              equal: Mapping[str, Any] | None = None, null: Sequence[str] = ()) -> Iterator[Sequence[Any]]:
    """Rows (in `columns` order) where `in_column` is one of `keys`, each `equal` column equals its value and
    each `null` column IS NULL. Keys should be distinct; rows come in no particular order."""
    equal = equal or {}
    shape = (table, tuple(columns), tuple(equal), tuple(null), in_column)
    *bind_equal, bind_key = _binds(table, (*equal, in_column), conn.dialect)
    filters = [v if v is None or process is None else process(v) for v, process in zip(equal.values(), bind_equal,
                                                                                           strict=True)]
    for start in range(0, len(keys), CHUNK):
        part = list(keys[start:start + CHUNK])
        if bind_key is not None:
            part = [bind_key(k) for k in part]
        size = next(s for s in _SIZES if s >= len(part))
        part += [part[-1]] * (size - len(part))
        result = conn.exec_driver_sql(_sql(*shape, size, conn.dialect), (*filters, *part))
        coltypes = tuple(column[1] for column in result.cursor.description)
        processors = _processors(table, tuple(columns), conn.dialect, coltypes)
        rows = result.fetchall()
        if not processors:
            yield from rows
            continue
        for row in rows:
            values = list(row)
            for index, process in processors:
                if values[index] is not None:
                    values[index] = process(values[index])
            yield values
