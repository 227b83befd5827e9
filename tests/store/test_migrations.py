"""Schema revisions carry existing data forward (and back), on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import text

from crmsync.store import db
from crmsync.store.provenance import unpack
from crmsync.store.types import dumps_json

NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ADA = {"email": ["salesforce", "2026-11-01T09:00:00.000000+00:00", "run1"],
       "last_name": ["salesforce", "2026-11-01T09:00:00.000000+00:00", "run1"],
       "title": ["hubspot", "2026-11-01T09:05:00.000000+00:00", "run2"],
       "custom.score": ["hubspot", "2026-11-01T09:05:00.000000+00:00", None]}


def _decoded(value: Any) -> Any:
    """A JSON column read through text(): already decoded on PostgreSQL, text on SQLite."""
    return json.loads(value) if isinstance(value, str) else value


def _upgrade_to(engine, revision: str) -> None:
    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _downgrade_to(engine, revision: str) -> None:
    config = db.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_0004_moves_provenance_onto_entity_rows_and_back(store_url):
    engine = db.make_engine(store_url)
    try:
        _upgrade_to(engine, "0001")
        with engine.begin() as conn:
            for record_id, email in (("L1", "ada@x.io"), ("L2", "bob@x.io"), ("L3", "cy@x.io")):
                conn.execute(text("INSERT INTO lead (id, custom, created_at, updated_at, email, tags) "
                                  "VALUES (:id, '{}', :now, :now, :email, '[]')"),
                             {"id": record_id, "now": NOW.replace(tzinfo=None), "email": email})
            conn.execute(text("INSERT INTO company (id, custom, created_at, updated_at) "
                              "VALUES ('C1', '{}', :now, :now)"),
                         {"now": NOW.replace(tzinfo=None)})
            conn.execute(text("INSERT INTO field_provenance (entity, canonical_id, fields) VALUES "
                              "('lead', 'L1', :ada), ('lead', 'L2', :bob), ('company', 'C1', :acme)"),
                         {"ada": dumps_json(ADA), "bob": dumps_json({"email": ADA["email"]}),
                          "acme": dumps_json({"name": ADA["title"]})})
        db.upgrade(engine)
        with engine.connect() as conn:
            leads = dict(conn.execute(text("SELECT id, provenance FROM lead ORDER BY id")).all())
            company = conn.execute(text("SELECT provenance FROM company")).scalar_one()
            tables = set(conn.dialect.get_table_names(conn))
        packed = {k: _decoded(v) for k, v in leads.items()}
        assert packed["L1"] == [["salesforce", "2026-11-01T09:00:00.000000+00:00", "run1", ["email", "last_name"]],
                                ["hubspot", "2026-11-01T09:05:00.000000+00:00", None, ["custom.score"]],
                                ["hubspot", "2026-11-01T09:05:00.000000+00:00", "run2", ["title"]]]
        assert unpack(packed["L1"]) == ADA and unpack(packed["L2"]) == {"email": ADA["email"]}
        assert packed["L3"] == []  # a record without provenance gets the empty default
        assert unpack(_decoded(company)) == {"name": ADA["title"]}
        assert "field_provenance" not in tables

        _downgrade_to(engine, "0001")
        with engine.connect() as conn:
            back = {(e, c): f for e, c, f in conn.execute(
                text("SELECT entity, canonical_id, fields FROM field_provenance")).all()}
        assert {k: _decoded(v) for k, v in back.items()} == {
            ("lead", "L1"): ADA, ("lead", "L2"): {"email": ADA["email"]}, ("company", "C1"): {"name": ADA["title"]}}
    finally:
        engine.dispose()
