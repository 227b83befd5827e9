"""Compile a parsed SOQL query against the org schema into fast Python callables, then run it.

Compilation resolves field names (case-insensitive, parent relationships like `Account.Name`), checks
literal types the way Salesforce does, and builds one predicate closure, so filtering 100k rows is a
single pass with no per-row interpretation of the syntax tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from typing import Any

from crmsync.sandbox.salesforce.schema import NUMBER_TYPES, FieldDef, SObjectDef
from crmsync.sandbox.salesforce.soql.ast import (
    And,
    Condition,
    CountAll,
    FieldPath,
    InList,
    Like,
    Literal,
    Not,
    Or,
    Query,
    RelativeDate,
)
from crmsync.sandbox.salesforce.soql.lexer import SoqlSyntaxError, StringValue
from crmsync.sandbox.salesforce.store import Record, SObjectStore, UnknownObjectError
from crmsync.sandbox.salesforce.values import normalize_id

Predicate = Callable[[Record], bool]
_CUSTOM_HINT = "If you are attempting to use a custom {kind}, be sure to append the '__c' after the {what}. " \
    "Please reference your WSDL or the describe call for the appropriate names."


class SoqlSemanticError(ValueError):
    """A well-formed query naming something that does not exist (INVALID_FIELD / INVALID_TYPE)."""

    def __init__(self, code: str, message: str, soql: str, position: int) -> None:
        located = f"\n{soql}\n{' ' * position}^\nERROR at Row:1:Column:{position + 1}\n{message}"
        super().__init__(located)
        self.code = code


@dataclass(frozen=True)
class Column:
    """One resolved field: its output path, definition and a getter over a stored record."""

    relationship: str | None  # canonical relationship name for parent fields (`Account`)
    lookup_field: str | None  # the reference field behind it (`AccountId`)
    field: FieldDef
    get: Callable[[Record], Any]

    @property
    def path(self) -> str:
        return self.field.name if self.relationship is None else f"{self.relationship}.{self.field.name}"


class CompiledQuery:
    def __init__(self, query: Query, soql: str, store: SObjectStore, now: datetime) -> None:
        self.query, self.soql, self.store, self.now = query, soql, store, now
        try:
            self.sobject: SObjectDef = store.sobject(query.object_name)
        except UnknownObjectError:
            message = f"sObject type '{query.object_name}' is not supported. " + _CUSTOM_HINT.format(
                kind="object", what="entity name"
            )
            raise SoqlSemanticError("INVALID_TYPE", message, soql, query.object_position) from None
        self.columns: list[Column] = []
        for item in query.select:
            if isinstance(item, CountAll):
                continue
            column = self.resolve(item)
            if any(existing.path == column.path for existing in self.columns):
                raise SoqlSyntaxError(f"duplicate field selected: {column.path}", soql, item.position)
            self.columns.append(column)
        self.predicate = None if query.where is None else self.compile_condition(query.where)
        self.sort_keys = [(self.resolve(item.field), item.descending, item.nulls_first) for item in query.order_by]

    # -- field resolution -----------------------------------------------------------------------------
    def _unknown(self, path: FieldPath, entity: str, name: str) -> SoqlSemanticError:
        message = f"No such column '{name}' on entity '{entity}'. " + _CUSTOM_HINT.format(
            kind="field", what="custom field name"
        )
        return SoqlSemanticError("INVALID_FIELD", message, self.soql, path.position)

    def resolve(self, path: FieldPath) -> Column:
        parts = path.path.split(".")
        if len(parts) == 1:
            field = self.sobject.field(parts[0])
            if field is None:
                raise self._unknown(path, self.sobject.name, parts[0])
            name = field.name
            return Column(None, None, field, lambda record: record.get(name))
        if len(parts) > 2:
            raise SoqlSemanticError("INVALID_FIELD", "the sandbox supports one relationship level",
                                    self.soql, path.position)
        lookup = self.sobject.relationship(parts[0])
        targets = [name for name in (lookup.reference_to if lookup else ()) if name in self.store.schema]
        if lookup is None or not targets:
            message = f"Didn't understand relationship '{parts[0]}' in field path."
            raise SoqlSemanticError("INVALID_FIELD", message, self.soql, path.position)
        fields = [self.store.schema[target].field(parts[1]) for target in targets]
        if any(field is None for field in fields):
            raise self._unknown(path, targets[0], parts[1])
        target_field: FieldDef = fields[0]  # type: ignore[assignment]
        key, name, find = lookup.name, target_field.name, self.store.find_any

        def get_parent_value(record: Record) -> Any:
            parent_id = record.get(key)
            parent = find(parent_id) if parent_id else None
            return None if parent is None else parent.get(name)

        return Column(lookup.relationship_name, key, target_field, get_parent_value)

    # -- literals -------------------------------------------------------------------------------------
    def _type_error(self, column: Column, path: FieldPath, wanted: str, quoted: bool) -> SoqlSemanticError:
        quoting = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
        message = f"value of filter criterion for field '{column.field.name}' must be of type {wanted} and {quoting}"
        return SoqlSemanticError("INVALID_FIELD", message, self.soql, path.position)

    def convert(self, column: Column, path: FieldPath, literal: Literal) -> Any:
        """Check a literal against the field type and return the comparable Python value."""
        field_type = column.field.type
        if literal is None:
            return None
        if column.field.is_text:
            if not isinstance(literal, StringValue):
                raise self._type_error(column, path, "string", True)
            if field_type in ("id", "reference"):
                return normalize_id(literal.text) or literal.text  # ids compare exactly, in creation order
            return literal.text.casefold()
        if field_type == "boolean":
            if not isinstance(literal, bool):
                raise self._type_error(column, path, "boolean", False)
            return literal
        if field_type in NUMBER_TYPES:
            if isinstance(literal, bool) or not isinstance(literal, int | float):
                raise self._type_error(column, path, "double" if field_type != "int" else "int", False)
            return literal
        wanted = "dateTime" if field_type == "datetime" else "date"
        if isinstance(literal, RelativeDate):
            return self.relative_range(literal, as_datetime=field_type == "datetime")
        if field_type == "datetime" and isinstance(literal, datetime):
            return literal
        if field_type == "date" and isinstance(literal, date) and not isinstance(literal, datetime):
            return literal
        raise self._type_error(column, path, wanted, False)

    def relative_range(self, literal: RelativeDate, *, as_datetime: bool) -> tuple[Any, Any]:
        today = self.now.astimezone(UTC).date()
        amount = literal.amount or 0
        start, end = {
            "TODAY": (today, today + timedelta(days=1)),
            "YESTERDAY": (today - timedelta(days=1), today),
            "TOMORROW": (today + timedelta(days=1), today + timedelta(days=2)),
            "LAST_N_DAYS": (today - timedelta(days=amount), today + timedelta(days=1)),
            "NEXT_N_DAYS": (today + timedelta(days=1), today + timedelta(days=amount + 1)),
        }[literal.name]
        if as_datetime:
            return datetime.combine(start, time(), UTC), datetime.combine(end, time(), UTC)
        return start, end

    # -- conditions -----------------------------------------------------------------------------------
    def compile_condition(self, condition: Condition) -> Predicate:
        if isinstance(condition, And):
            parts = [self.compile_condition(item) for item in condition.items]
            return lambda record: all(part(record) for part in parts)
        if isinstance(condition, Or):
            parts = [self.compile_condition(item) for item in condition.items]
            return lambda record: any(part(record) for part in parts)
        if isinstance(condition, Not):
            inner = self.compile_condition(condition.item)
            return lambda record: not inner(record)
        column = self.resolve(condition.field)
        get = _comparable_getter(column)
        if isinstance(condition, Like):
            if not column.field.is_text:
                raise self._type_error(column, condition.field, "string", True)
            pattern = re.compile(condition.pattern.like_regex, re.IGNORECASE | re.DOTALL)
            return lambda record: (value := column.get(record)) is not None and bool(pattern.fullmatch(value))
        if isinstance(condition, InList):
            values = {self.convert(column, condition.field, item) for item in condition.values}
            if condition.negated:
                return lambda record: get(record) not in values
            return lambda record: get(record) in values
        return _comparison(condition.operator, get, self.convert(column, condition.field, condition.value))

    # -- execution ------------------------------------------------------------------------------------
    def run(self, rows: Iterable[Record]) -> list[Record]:
        """Filter, sort, offset and limit in one go; returns references to the stored records."""
        predicate = self.predicate
        matched: Iterable[Record] = rows if predicate is None else (row for row in rows if predicate(row))
        offset, limit = self.query.offset or 0, self.query.limit
        if not self.sort_keys:
            stop = None if limit is None else offset + limit
            return list(islice(matched, offset, stop))
        result = list(matched)
        for column, descending, nulls_first in reversed(self.sort_keys):
            result.sort(key=_sort_key(column, descending, nulls_first), reverse=descending)
        return result[offset:] if limit is None else result[offset : offset + limit]


def _comparable_getter(column: Column) -> Callable[[Record], Any]:
    get = column.get
    if column.field.is_text and column.field.type not in ("id", "reference"):
        return lambda record: None if (value := get(record)) is None else value.casefold()
    return get


def _comparison(operator: str, get: Callable[[Record], Any], value: Any) -> Predicate:
    if isinstance(value, tuple):  # a relative date range [start, end)
        start, end = value
        ranges: dict[str, Predicate] = {
            "=": lambda r: (v := get(r)) is not None and start <= v < end,
            "!=": lambda r: (v := get(r)) is None or not start <= v < end,
            "<": lambda r: (v := get(r)) is not None and v < start,
            "<=": lambda r: (v := get(r)) is not None and v < end,
            ">": lambda r: (v := get(r)) is not None and v >= end,
            ">=": lambda r: (v := get(r)) is not None and v >= start,
        }
        return ranges[operator]
    if value is None:
        return (lambda r: get(r) is None) if operator == "=" else (lambda r: get(r) is not None)
    # SOQL treats null as a value: `!= x` includes nulls, ordering comparisons exclude them.
    operators: dict[str, Predicate] = {
        "=": lambda r: get(r) == value,
        "!=": lambda r: get(r) != value,
        "<": lambda r: (v := get(r)) is not None and v < value,
        "<=": lambda r: (v := get(r)) is not None and v <= value,
        ">": lambda r: (v := get(r)) is not None and v > value,
        ">=": lambda r: (v := get(r)) is not None and v >= value,
    }
    return operators[operator]


def _sort_key(column: Column, descending: bool, nulls_first: bool) -> Callable[[Record], tuple[int, Any]]:
    get = _comparable_getter(column)
    # After `reverse=True` the highest rank comes first, so flip the null rank for descending sorts.
    null_rank = (0 if nulls_first else 2) if not descending else (2 if nulls_first else 0)
    return lambda record: (null_rank, 0) if (value := get(record)) is None else (1, value)
