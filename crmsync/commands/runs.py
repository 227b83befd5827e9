"""`crmsync backfill`, `crmsync sync`, `crmsync serve`: the ways users run the engine."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from crmsync.commands.common import _state, console, err_console, friendly_errors, open_workspace, settings
from crmsync.commands.logs import configure_logging, one_line, runs_reported_here
from crmsync.commands.progress import ProgressObserver, plan_table, summary_table
from crmsync.errors import ConfigError, CrmsyncError
from crmsync.sync_engine.runner import RunSummary, SyncRunner
from crmsync.sync_engine.workspace import Workspace
from crmsync.sync_engine.writeback import OutboxDrainer


def _moment(value: str | None, option: str) -> datetime | None:
    """A date (midnight UTC) or an ISO datetime (UTC when it has no offset)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if "T" in value or " " in value else datetime.combine(
            date.fromisoformat(value), datetime.min.time())
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a date (2026-01-31) or ISO datetime "
                          "(2026-01-31T12:00:00+00:00)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@contextmanager
def stop_on_ctrl_c(stop: threading.Event) -> Iterator[None]:
    """First Ctrl-C: finish the current page and stop cleanly. Second: stop at once (the page rolls back)."""
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        err_console.print("[yellow]stopping after the current page (Ctrl-C again to stop now)[/yellow]")

    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        if in_main:
            signal.signal(signal.SIGINT, previous)


def _report(summary: RunSummary, dry_run: bool) -> None:
    title = f"{summary.kind} of {summary.connection}: {summary.status}" + (" (dry run: nothing written)"
                                                                          if dry_run else "")
    console.print(summary_table(summary, title))
    if dry_run:
        console.print(plan_table(summary))
        for example in summary.examples[:5]:
            console.print(f"  would update {example['stream']} {example['canonical_id']}: "
                          + ", ".join(f"{k}: {v[0]!r} → {v[1]!r}" for k, v in example["changes"].items()),
                          highlight=False, soft_wrap=True)
    if summary.error:  # the one place a run's failure is printed (the runner's own warning is demoted)
        err_console.print(f"[red]{summary.status}:[/red] {escape(one_line(summary.error))}", highlight=False,
                          soft_wrap=True)
    console.print(f"run id {summary.run_id}")


def backfill(
    connection: Annotated[str, typer.Argument(help="The connection to backfill from (see crmsync.yaml).")],
    objects: Annotated[list[str] | None, typer.Option("--object", help="Only this object (repeatable).")] = None,
    since: Annotated[str | None, typer.Option(help="From this date/time (UTC); default: everything.")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date/time (UTC, exclusive); default: now.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the last unfinished backfill.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write nothing; print what would change.")] = False,
) -> None:
    """Read a connection's records (or a time range of them) into the canonical store, resumably."""
    run_backfill(connection, objects, since, until, resume, dry_run)


@friendly_errors
def run_backfill(connection: str, objects: list[str] | None, since: str | None, until: str | None, resume: bool,
                 dry_run: bool) -> None:
    start, end = _moment(since, "--since"), _moment(until, "--until")
    if start and end and start >= end:
        raise ConfigError(f"--since {since} is not before --until {until}")
    workspace = open_workspace(settings())
    stop = threading.Event()
    try:
        with runs_reported_here(), stop_on_ctrl_c(stop), ProgressObserver(console) as observer:
            runner = SyncRunner(workspace, connection, observer, stop)
            summary = runner.backfill(objects, start, end, resume=resume, dry_run=dry_run)
    except KeyboardInterrupt:
        err_console.print("stopped; run again with --resume to continue where it stopped")
        raise typer.Exit(130) from None
    finally:
        workspace.close()
    _report(summary, dry_run)
    if summary.status == "stopped":
        console.print("stopped cleanly; `crmsync backfill "
                      f"{connection} --resume` continues where it stopped")
    if summary.status not in ("ok", "stopped"):
        raise typer.Exit(1)


def sync(
    connection: Annotated[str | None, typer.Argument(help="One connection (default: every one).")] = None,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit (use `serve` to keep going).")] = True,
    push: Annotated[bool, typer.Option(help="Drain the outbox after pulling.")] = True,
    confirm_deletes: Annotated[bool, typer.Option(
        "--confirm-deletes", help="Apply deletes even past the mass-delete rail (deletes.max_share/max_count).")
    ] = False,
) -> None:
    """One incremental pass from each stream's checkpoint, then write-back to the other connections."""
    run_sync(connection, push, confirm_deletes)


def reconcile(
    connection: Annotated[str, typer.Argument(help="The connection whose hard deletes to find.")],
    objects: Annotated[list[str] | None, typer.Option("--object", help="Only this object (repeatable).")] = None,
    confirm_deletes: Annotated[bool, typer.Option(
        "--confirm-deletes", help="Apply deletes even past the mass-delete rail.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Write nothing; print what would change.")] = False,
) -> None:
    """Find records deleted for good in a system (purged, GDPR-deleted: no incremental read reports them) by
    listing its ids, and apply them as deletes under the connection's delete policy."""
    run_reconcile(connection, objects, confirm_deletes, dry_run)


@friendly_errors
def run_reconcile(connection: str, objects: list[str] | None, confirm_deletes: bool, dry_run: bool) -> None:
    workspace = open_workspace(settings())
    try:
        with runs_reported_here(), ProgressObserver(console) as observer:
            runner = SyncRunner(workspace, connection, observer, confirm_deletes=confirm_deletes)
            summary = runner.reconcile_deletes(objects, dry_run=dry_run)
    finally:
        workspace.close()
    _report(summary, dry_run)
    if summary.status not in ("ok", "stopped"):
        raise typer.Exit(1)


@friendly_errors
def run_sync(connection: str | None, push: bool, confirm_deletes: bool = False) -> None:
    workspace = open_workspace(settings())
    failed = False
    stop = threading.Event()
    try:
        names = [workspace.connection(connection).name] if connection else [
            c.name for c in workspace.connections if c.pulled_objects()]
        with runs_reported_here(), stop_on_ctrl_c(stop):
            for name in names:  # a connection that fails (its run row says why) does not stop the others
                try:
                    with ProgressObserver(console) as observer:
                        summary = SyncRunner(workspace, name, observer, stop, confirm_deletes).incremental()
                except CrmsyncError as exc:
                    if _state["debug"]:
                        raise
                    err_console.print(f"[red]incremental of {name} failed:[/red] {escape(one_line(str(exc)))}",
                                      highlight=False, soft_wrap=True)
                    failed = True
                    continue
                _report(summary, dry_run=False)
                failed = failed or summary.status not in ("ok", "stopped")
            if push and not stop.is_set():
                failed = not _push(workspace, reported=set(names), stop=stop) or failed
    finally:
        workspace.close()
    if failed:
        raise typer.Exit(1)


def _push(workspace: Workspace, reported: set[str], stop: threading.Event | None = None) -> bool:
    """Drain the outbox to each target in turn; items for one that cannot be reached wait in the outbox.
    Returns whether every target could be tried."""
    targets = sorted({route.target for routes in workspace.routes.by_entity.values() for route in routes})
    drainer, complete = OutboxDrainer(workspace, stop=stop), True
    for target in targets:
        if drainer.stop.is_set():
            break
        reason = workspace.connection(target).unavailable
        if reason is not None:
            console.print(f"write-back to {target}: waiting in the outbox"
                          + (" (see above)" if target in reported else f" ({one_line(reason)})"), highlight=False,
                          markup=False)
            complete = False
            continue
        try:
            _print_push(drainer.drain([target]))
        except CrmsyncError as exc:  # e.g. its connector cannot be built: the other targets still get theirs
            if _state["debug"]:
                raise
            err_console.print(f"[red]write-back to {target} failed:[/red] {escape(one_line(str(exc)))}",
                              highlight=False, soft_wrap=True)
            complete = False
    return complete


def _print_push(results: dict[str, Any]) -> None:
    for target, counts in results.items():
        shown = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()) if value) or "nothing due"
        console.print(f"write-back to {target}: {shown}", highlight=False, markup=False)


def serve(
    host: Annotated[str | None, typer.Option(help="Listen address (default: server.host in the config).")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (default: server.port in the config).")] = None,
    scheduler: Annotated[bool, typer.Option(help="Run the scheduled syncs and the outbox too.")] = True,
    verbose: Annotated[bool, typer.Option("--verbose/--quiet", "-v/-q", help="Log each run and batch.")] = True,
) -> None:
    """The webhook receiver (POST /webhooks/CONNECTION, /healthz, /metrics), its inbox processor and the
    scheduler (an incremental sync per connection at its interval, and the outbox), until Ctrl-C."""
    run_serve(host, port, scheduler, verbose)


@friendly_errors
def run_serve(host: str | None, port: int | None, with_scheduler: bool, verbose: bool) -> None:
    import uvicorn

    from crmsync.receiver.server import Receiver, bind_listener

    configure_logging(debug=_state["debug"], verbose=verbose, serving=True)
    config = settings()
    unusable = [c.unavailable for c in config.connections if c.enabled and c.unavailable]
    if unusable:
        raise ConfigError(f"crmsync serve runs every enabled connection; {'; '.join(unusable)} "
                          "(or set `enabled: false` on it)")
    host = host or config.server.host
    listener = bind_listener(host, config.server.port if port is None else port)  # taken: one line, no banner
    try:
        workspace = open_workspace(config)
        receiver = Receiver(workspace, with_scheduler=with_scheduler)
    except BaseException:
        listener.close()
        raise
    bound_port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(receiver.app, host=host, port=bound_port, log_config=None,
                                           access_log=False, lifespan="off", timeout_graceful_shutdown=5))
    receiver.start()
    console.print(f"crmsync serve on http://{host}:{bound_port}: webhooks for "
                  f"{', '.join(receiver.adapters) or 'no connection'}"
                  + ("; scheduled syncs and outbox running" if with_scheduler else "") + ". Ctrl-C stops.",
                  highlight=False)
    try:
        server.run(sockets=[listener])  # handles SIGINT/SIGTERM: stops accepting, finishes requests in flight
    finally:
        console.print("stopping: running passes finish their page; stored events wait in the inbox")
        receiver.stop()
        workspace.close()
        listener.close()
