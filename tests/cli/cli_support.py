"""Running the command line in-process (typer's CliRunner) or as the installed entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from crmsync.cli import app

CRMSYNC = Path(sys.executable).parent / "crmsync"  # the entry point of this environment
WIDE = {"COLUMNS": "200"}


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.strip()]


def invoke(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """`crmsync ARGS` in this process; uncaught exceptions surface as they would for a user (a traceback)."""
    result = CliRunner().invoke(app, list(args), env={**WIDE, **(env or {})})
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        stderr += "".join(traceback.format_exception(result.exception))
    return CliResult(result.exit_code, result.stdout, stderr)


def run_process(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60) -> CliResult:
    """`crmsync ARGS` as a separate process, the way a user's shell starts it."""
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("CRMSYNC_CONFIG", "CRMSYNC_DATABASE_URL", "CRMSYNC_SECRET_KEY")}
    completed = subprocess.run([str(CRMSYNC), *args], cwd=cwd, env={**environment, **WIDE, **(env or {})},
                               capture_output=True, text=True, timeout=timeout)
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def ingest(config: Path, connection: str, obj: str, payload: dict[str, object], modified: str) -> None:
    """One record of `connection` through the engine's ingest path, as a sync would bring it."""
    from crmsync.config.settings import load_settings
    from crmsync.mappings.transforms import parse_utc
    from crmsync.store import db
    from crmsync.store.tokens import NoTokenStore
    from crmsync.sync_engine.records import SourceRecord
    from crmsync.sync_engine.workspace import Workspace

    settings = load_settings(config)
    engine = db.make_engine(settings.database_url)
    workspace = Workspace(settings, engine, token_store=NoTokenStore())
    system = settings.connection(connection).system
    mapper = workspace.mappings_for(connection).get(system, obj)
    record = SourceRecord(system, obj, str(payload[mapper.id_field]), parse_utc(modified), payload,
                          connection=connection)
    workspace.ingestor(connection, f"test-{connection}").ingest_page([record], f"test-{connection}")
    workspace.close()
    engine.dispose()
