"""SOQL syntax tree produced by the parser and consumed by the evaluator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from crmsync.sandbox.salesforce.soql.lexer import StringValue


@dataclass(frozen=True)
class RelativeDate:
    """A date literal such as TODAY or LAST_N_DAYS:30, resolved against the sandbox clock at run time."""

    name: str
    amount: int | None = None


Literal = StringValue | int | float | bool | None | datetime | date | RelativeDate


@dataclass(frozen=True)
class FieldPath:
    """A field as written in the query: `Email` or a parent relationship path like `Account.Name`."""

    path: str
    position: int


@dataclass(frozen=True)
class CountAll:
    """`COUNT()`: the result has no rows, only totalSize."""


SelectItem = FieldPath | CountAll


@dataclass(frozen=True)
class Comparison:
    field: FieldPath
    operator: str  # one of = != < <= > >= (<> is normalised to !=)
    value: Literal


@dataclass(frozen=True)
class InList:
    field: FieldPath
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    field: FieldPath
    pattern: StringValue


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | InList | Like | And | Or | Not


@dataclass(frozen=True)
class OrderItem:
    field: FieldPath
    descending: bool
    nulls_first: bool


@dataclass(frozen=True)
class Query:
    select: tuple[SelectItem, ...]
    object_name: str
    object_position: int
    where: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: int | None
    offset: int | None

    @property
    def is_count(self) -> bool:
        return any(isinstance(item, CountAll) for item in self.select)
