"""Shared fixtures: a canonical store on SQLite and on the local PostgreSQL, the built-in mappings.

PostgreSQL tests skip only when no server answers; CI sets CRMSYNC_REQUIRE_POSTGRES=1 so that a missing
server fails the run instead of hiding the tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, text

from crmsync.mappings.loader import MappingSet, load_mappings
from crmsync.store import db

# Deterministic property tests: the same examples on every run and in CI.
hypothesis_settings.register_profile("crmsync", derandomize=True, print_blob=True)
hypothesis_settings.load_profile("crmsync")

POSTGRES_URL = os.environ.get("CRMSYNC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_URL.replace("+psycopg", ""), connect_timeout=2):
            return None
    except Exception as exc:  # any failure to connect means "no server here"
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped at the end of the session."""
    problem = _postgres_available()
    if problem is not None:
        if os.environ.get("CRMSYNC_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required (CRMSYNC_REQUIRE_POSTGRES=1) but unreachable: {problem}")
        pytest.skip(f"no PostgreSQL server answers at {POSTGRES_URL}: {problem}")
    schema = f"crmsync_test_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crmsync.db'}"
        return
    base = request.getfixturevalue("postgres_schema_url")
    engine = db.make_engine(base)
    with engine.begin() as conn:  # each test starts from an empty schema
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")).scalars()
        for table in list(tables):
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
    engine.dispose()
    yield base


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = db.make_engine(store_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def mappings() -> MappingSet:
    return load_mappings()
