"""`crmsync init` writes a starter file that loads (once its variables are set) and never overwrites."""

from __future__ import annotations

from typer.testing import CliRunner

from crmsync.cli import app
from crmsync.config.settings import load_settings


def test_init_writes_a_starter_that_loads_and_refuses_to_overwrite(tmp_path, monkeypatch) -> None:
    path = tmp_path / "crmsync.yaml"
    runner = CliRunner()
    result = runner.invoke(app, ["init", "--path", str(path)])
    assert result.exit_code == 0, result.output
    for name in ("SF_CLIENT_ID", "SF_CLIENT_SECRET", "SF_USERNAME", "SF_PASSWORD"):
        monkeypatch.setenv(name, f"value-of-{name}")
    settings = load_settings(path)
    [connection] = settings.connections
    assert connection.secret("client_secret") == "value-of-SF_CLIENT_SECRET"
    assert connection.base_url == "https://127.0.0.1:8700"
    again = runner.invoke(app, ["init", "--path", str(path)])
    assert again.exit_code == 1 and "--force" in again.output
