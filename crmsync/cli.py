"""The `crmsync` command line (typer + rich). Errors print one actionable line; tracebacks only with --debug."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from crmsync.commands import runs
from crmsync.commands.common import _state, console, err_console, friendly_errors, open_engine, settings
from crmsync.commands.conflicts import conflicts_app
from crmsync.commands.logs import configure_logging
from crmsync.commands.record_errors import errors_app
from crmsync.commands.records import records_app
from crmsync.commands.state import init, outbox_app, status
from crmsync.mappings.loader import check_mappings
from crmsync.store import db

app = typer.Typer(help="Keep one canonical lead/deal store in sync with every CRM.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)  # an unexpected error: its traceback, not megabytes of locals
db_app = typer.Typer(help="The canonical store's schema.", no_args_is_help=True)
mappings_app = typer.Typer(help="Field mappings.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(mappings_app, name="mappings")
app.add_typer(conflicts_app, name="conflicts")
app.add_typer(records_app, name="records")
app.add_typer(errors_app, name="errors")
app.add_typer(outbox_app, name="outbox")
app.command("init")(init)
app.command("backfill")(runs.backfill)
app.command("sync")(runs.sync)
app.command("reconcile")(runs.reconcile)
app.command("serve")(runs.serve)
app.command("status")(status)

@app.callback()
def main(
    config: Annotated[Path | None, typer.Option("--config", help="crmsync.yaml (default: $CRMSYNC_CONFIG)")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks, debug logs and vendor SDK request "
                                                        "logs.")] = False,
) -> None:
    _state.update(config=config, debug=debug)
    configure_logging(debug)


@db_app.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Create or migrate the canonical store to the current schema."""
    engine = open_engine(settings())
    revision = db.upgrade(engine)
    console.print(f"canonical store at {engine.url.render_as_string(hide_password=True)} is at revision {revision}")


@mappings_app.command("check")
@friendly_errors
def mappings_check(
    directory: Annotated[Path | None, typer.Option("--dir", help="Your mapping directory (overrides built-ins).")] = (
        None
    ),
) -> None:
    """Check every mapping file; list each problem with its file, object and field."""
    config = settings()
    problems = check_mappings(directory or config.mapping_dir, config.default_region)
    for problem in problems:
        console.print(str(problem), highlight=False, soft_wrap=True)
    if problems:
        err_console.print(f"[red]{len(problems)} problem(s)[/red]")
        raise typer.Exit(1)
    console.print("[green]all mappings are valid[/green]")


@app.command("demo")
@friendly_errors
def demo(
    database: Annotated[Path, typer.Option("--db", help="SQLite file for the demo (recreated).")] = Path(
        "crmsync-demo.db"),
) -> None:
    """Merge a bundled set of overlapping leads from three systems and show the result."""
    from crmsync.demo.run import run_demo

    run_demo(database, console)


def _mount_optional() -> None:
    try:
        from crmsync.sandbox.cli import sandbox_app
    except ImportError:  # the sandbox is optional at import time only while it is being built
        return
    app.add_typer(sandbox_app, name="sandbox", help="Local emulators of every vendor API.")


_mount_optional()

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
