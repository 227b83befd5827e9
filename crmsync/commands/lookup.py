"""Read-only queries the review commands share: find canonical records, their links, history and labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, and_, or_, select

from crmsync.errors import ConfigError, NotFoundError
from crmsync.mappings.phones import to_e164
from crmsync.store.models import ENTITY_MODELS, ChangeLog, ExternalRef

REF: Table = ExternalRef.__table__  # type: ignore[assignment]
CHANGE_LOG: Table = ChangeLog.__table__  # type: ignore[assignment]
REVIEWED_ENTITIES = ("lead", "company", "deal")
CHUNK = 500  # ids per IN list


def table_of(entity: str) -> Table:
    return ENTITY_MODELS[entity].__table__  # type: ignore[attr-defined,no-any-return]


@dataclass(frozen=True)
class Selector:
    """How the user named a record: `kind` is email, phone, domain, id or ref; `value` as typed."""

    kind: str
    value: str

    def describe(self, entity: str) -> str:
        return f"{entity} with {self.kind} {self.value}" if self.kind != "ref" else f"{entity} linked to {self.value}"


def find_records(conn: Connection, entity: str, selector: Selector, region: str | None) -> list[Mapping[str, Any]]:
    """The records the selector names (several when it is ambiguous, as two leads may share a phone).

    A record merged into another is followed to the one that absorbed it."""
    table = table_of(entity)
    live = table.c.merged_into.is_(None)
    if selector.kind == "id":
        rows = _rows(conn, table, [selector.value.strip()])
    elif selector.kind == "ref":
        rows = _rows(conn, table, _ids_by_ref(conn, entity, selector.value))
    else:
        column, value = _column_and_value(entity, selector, region)
        query = select(table).where(and_(table.c[column] == value, live)).order_by(table.c.id)
        rows = list(conn.execute(query).mappings())
    return _follow_merges(conn, table, rows)


def _column_and_value(entity: str, selector: Selector, region: str | None) -> tuple[str, str]:
    allowed = {"lead": ("email", "phone"), "company": ("domain",), "deal": ()}[entity]
    if selector.kind not in allowed:
        options = ", ".join(f"--{kind}" for kind in (*allowed, "id", "ref"))
        raise ConfigError(f"--{selector.kind} does not name a {entity}; use {options}")
    value = selector.value.strip()
    if selector.kind == "phone":
        e164 = to_e164(value, region)
        if e164 is None:
            raise ConfigError(f"--phone {selector.value!r} is not a phone number (default region {region}); "
                              "write it as +14155550101")
        return "phone", e164
    if selector.kind == "domain":
        value = value.lower().removeprefix("https://").removeprefix("http://").removeprefix("www.").rstrip("/")
    return selector.kind, value.lower() if selector.kind == "email" else value


def _ids_by_ref(conn: Connection, entity: str, text: str) -> list[str]:
    system, sep, external_id = text.partition(":")
    if not sep or not system or not external_id:
        raise ConfigError(f"--ref {text!r}: write it as CONNECTION:EXTERNAL_ID (salesforce:00Q8d0000000001EAA)")
    refs = conn.execute(select(REF.c.entity, REF.c.canonical_id).where(and_(
        REF.c.system == system, REF.c.external_id == external_id))).all()
    ids = sorted({row.canonical_id for row in refs if row.entity == entity})
    others = sorted({row.entity for row in refs if row.entity != entity})
    if not ids and others:
        raise NotFoundError(f"{text} is a {' and a '.join(others)}, not a {entity}: add --entity {others[0]}")
    return ids


def _rows(conn: Connection, table: Table, ids: Sequence[str]) -> list[Mapping[str, Any]]:
    if not ids:
        return []
    return list(conn.execute(select(table).where(table.c.id.in_(list(ids))).order_by(table.c.id)).mappings())


def _follow_merges(conn: Connection, table: Table, rows: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        for _ in range(32):  # a chain of merges ends at the record that is still live
            if row["merged_into"] is None:
                break
            survivor = _rows(conn, table, [row["merged_into"]])
            if not survivor:
                break
            row = survivor[0]
        found.setdefault(row["id"], row)
    return list(found.values())


def refs_of(conn: Connection, entity: str, ids: Iterable[str]) -> dict[str, list[Mapping[str, Any]]]:
    """Each record's links: (connection, object, external id) rows, in the order they were made."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), CHUNK):
        query = select(REF).where(and_(REF.c.entity == entity, REF.c.canonical_id.in_(wanted[start:start + CHUNK])))
        for row in conn.execute(query.order_by(REF.c.id)).mappings():
            found.setdefault(row["canonical_id"], []).append(row)
    return found


def records_by_id(conn: Connection, entity: str, ids: Iterable[str]) -> dict[str, Mapping[str, Any]]:
    table, wanted = table_of(entity), sorted({record_id for record_id in ids if record_id})
    found: dict[str, Mapping[str, Any]] = {}
    for start in range(0, len(wanted), CHUNK):
        found.update({row["id"]: row for row in _rows(conn, table, wanted[start:start + CHUNK])})
    return found


def history(conn: Connection, entity: str, record_id: str) -> list[Mapping[str, Any]]:
    """Change-log rows of the record and of every record merged into it, oldest first."""
    table = table_of(entity)
    absorbed = [row.id for row in conn.execute(select(table.c.id).where(table.c.merged_into == record_id))]
    query = select(CHANGE_LOG).where(and_(CHANGE_LOG.c.entity == entity, or_(
        CHANGE_LOG.c.canonical_id == record_id, CHANGE_LOG.c.canonical_id.in_(absorbed))))
    return list(conn.execute(query.order_by(CHANGE_LOG.c.changed_at, CHANGE_LOG.c.id)).mappings())


def label(entity: str, row: Mapping[str, Any] | None) -> str:
    """A record as a person recognises it: a lead's name and e-mail, a company's name and domain, a deal's name."""
    if row is None:
        return "(record not found)"
    if entity == "lead":
        name = " ".join(part for part in (row.get("first_name"), row.get("last_name")) if part)
        contact = row.get("email") or row.get("phone")
        return " ".join(part for part in (name, f"<{contact}>" if contact else "") if part) or row["id"]
    if entity == "company":
        domain = f"({row['domain']})" if row.get("domain") else ""
        return " ".join(part for part in (row.get("name"), domain) if part) or row["id"]
    if entity == "deal":
        amount = " ".join(plain(part) for part in (row.get("amount"), row.get("currency")) if part not in (None, ""))
        return f"{row.get('name') or row['id']}" + (f" ({amount})" if amount else "")
    return str(row["id"])


def plain(value: Any) -> str:
    """A value as text; an exact decimal without the trailing zeros of its column's scale (PostgreSQL's)."""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}" if value.is_finite() else str(value)
    return str(value)


def ref_text(ref: Mapping[str, Any]) -> str:
    return f"{ref['system']}:{ref['object']}/{ref['external_id']}" + (" (deleted)" if ref["deleted_at"] else "")
