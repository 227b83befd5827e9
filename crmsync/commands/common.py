"""What every command shares: the consoles, the global options, one-line errors, settings and the store."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine

from crmsync.config.settings import Settings, load_settings
from crmsync.errors import CrmsyncError
from crmsync.store import db

console = Console()
err_console = Console(stderr=True)
_state: dict[str, Any] = {"debug": False, "config": None}
F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(fn: F) -> F:
    """Turn CrmsyncError into one line on stderr and exit 1; --debug shows the traceback instead."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CrmsyncError as exc:
            if _state["debug"]:
                raise
            err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def settings() -> Settings:
    return load_settings(_state["config"])


def store() -> Engine:
    """The configured store, refusing one that `crmsync db upgrade` has not brought to the current schema."""
    engine = db.make_engine(settings().database_url)
    db.require_current_schema(engine)
    return engine
