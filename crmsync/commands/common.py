"""What every command shares: the consoles, the global options, one-line errors, settings, the store and the
workspace."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from rich.text import Text
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from crmsync.commands.logs import one_line
from crmsync.config.settings import DATABASE_URL_ENV, Settings, load_settings
from crmsync.errors import CrmsyncError, StoreError
from crmsync.store import db

if TYPE_CHECKING:
    from crmsync.sync_engine.workspace import Workspace

console = Console()
err_console = Console(stderr=True)
_state: dict[str, Any] = {"debug": False, "config": None, "running": False}
_opened: list[Engine] = []  # engines the running command opened; closed when it ends
F = TypeVar("F", bound=Callable[..., Any])
URL_EXAMPLES = "sqlite:///crmsync.db or postgresql+psycopg://user@host:5432/db"


def friendly_errors(fn: F) -> F:
    """Turn CrmsyncError (and a store that stops answering) into one line on stderr and exit 1; --debug shows
    the traceback instead."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        outermost = not _state.get("running")
        _state["running"] = True
        try:
            return fn(*args, **kwargs)
        except (CrmsyncError, OperationalError) as exc:
            if _state["debug"]:
                raise
            message = str(exc) if isinstance(exc, CrmsyncError) else f"the canonical store failed: {exc.orig}"
            err_console.print(f"[red]error:[/red] {escape(one_line(message))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        finally:
            if outermost:
                _state["running"] = False
                while _opened:  # pooled connections are closed now, not whenever they are collected
                    _opened.pop().dispose()

    return wrapper  # type: ignore[return-value]


def say(text: str) -> None:
    """A line of data on stdout: as it is (no markup, no highlighting), wrapped only by the terminal."""
    console.print(text, highlight=False, markup=False, soft_wrap=True)


class DataTable(Table):
    """A table of data: cells are shown whole (folded when narrow, never cut to an ellipsis) and as they are,
    never read as Rich markup (a title `[vip]` stays)."""

    def __init__(self, *headers: str | Column, **kwargs: Any) -> None:
        super().__init__(*(Column(h, overflow="fold") if isinstance(h, str) else h for h in headers), **kwargs)

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("overflow", "fold")
        super().add_column(*args, **kwargs)

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in renderables), **kwargs)


def settings() -> Settings:
    return load_settings(_state["config"])


def _url_origin(config: Settings) -> str:
    if os.environ.get(DATABASE_URL_ENV):
        return DATABASE_URL_ENV
    return f"database_url in {config.config_file}" if config.config_file else "the default database_url"


def open_engine(config: Settings) -> Engine:
    """An engine for the configured store; StoreError in one line when the URL cannot be used.

    An unparsable URL is never echoed (it may hold a password); a parsed one is shown with its password hidden.
    """
    origin = _url_origin(config)
    try:
        url = make_url(config.database_url)
    except ArgumentError:
        raise StoreError(f"{origin} is not a database URL; write it as {URL_EXAMPLES}") from None
    shown = url.render_as_string(hide_password=True)
    try:
        engine = db.make_engine(config.database_url)
    except NoSuchModuleError:
        raise StoreError(f"{origin} ({shown}): {url.drivername!r} is not a database crmsync can use; "
                         f"write it as {URL_EXAMPLES}") from None
    except ImportError as exc:
        raise StoreError(f"{origin} ({shown}) needs the database driver {exc.name or exc}, which is not "
                         f"installed; crmsync ships with drivers for {URL_EXAMPLES}") from None
    except (ArgumentError, TypeError, ValueError) as exc:
        raise StoreError(f"{origin} ({shown}) cannot be used: {exc}") from None
    _opened.append(engine)
    return engine


def store() -> Engine:
    """The configured store, refusing one that `crmsync db upgrade` has not brought to the current schema."""
    engine = open_engine(settings())
    db.require_current_schema(engine)
    return engine


def open_workspace(config: Settings) -> Workspace:
    """The engine's workspace for a command, on the checked store (its token store: `store.tokens`)."""
    from crmsync.sync_engine.workspace import Workspace

    return Workspace(config, open_engine(config))
