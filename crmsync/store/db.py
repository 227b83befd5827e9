"""Engine creation and schema upgrades; the only place that knows about database URLs."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from crmsync.errors import StoreError
from crmsync.store import wal
from crmsync.store.types import dumps_json, loads_json

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the CLI read while a sync writes; NORMAL sync is durable across process crashes in WAL mode.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url` with crmsync's JSON encoding and, on SQLite, its pragmas."""
    kwargs: dict[str, Any] = {"json_serializer": dumps_json, "json_deserializer": loads_json,
                              "future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        wal.install(engine)
    return engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> str:
    """Apply every pending migration to `engine`'s database; returns the revision now in place."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise StoreError(f"cannot reach the canonical store at {engine.url!r}: {exc.orig}") from exc
    return _head()


@cache
def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_current_schema(engine: Engine) -> None:
    """Refuse to run against a store that has not been upgraded; say the command that fixes it."""
    try:
        revision = current_revision(engine)
    except OperationalError as exc:
        raise StoreError(f"cannot reach the canonical store at {engine.url!r}: {exc.orig}") from exc
    if revision != _head():
        raise StoreError(
            f"the canonical store at {engine.url!r} is at schema revision {revision or 'none'}, "
            f"crmsync needs {_head()}: run `crmsync db upgrade`"
        )
