"""One clear line instead of a traceback or a silent success: bad database URLs, unknown outbox items, a
connection whose credentials are not set, a failed run printed once, a `serve` port that is taken."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from cli_support import run_process

from crmsync.sandbox import SandboxRunner
from crmsync.store import db

STORE_COMMANDS = [
    ("db", "upgrade"), ("status",), ("conflicts", "list"), ("conflicts", "show", "1"),
    ("records", "show", "--email", "a@b.c"), ("errors", "list"), ("errors", "retry", "--all"), ("outbox", "list"),
    ("outbox", "retry", "--all"), ("sync",), ("backfill", "salesforce"), ("serve", "--port", "0", "--no-scheduler"),
]
BAD_URLS = {
    "postgres://admin:hunter2@db.example.com/crm": "'postgres' is not a database crmsync can use",  # old scheme
    "mssql+pyodbc://admin:hunter2@db.example.com/crm": "needs the database driver",  # driver not installed
    "crm-db.example.com:5432/crm": "is not a database URL",  # no scheme at all
}


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_database_url_is_one_line_on_every_command_that_opens_the_store(write_config, cli, url: str) -> None:
    write_config("sqlite:///unused.db")
    for command in STORE_COMMANDS:
        result = cli(*command, env={"CRMSYNC_DATABASE_URL": url})
        assert result.exit_code == 1, (command, result.output)
        assert result.lines() == [result.stderr.strip()], (command, result.output)  # one line, on stderr
        assert result.stderr.startswith("error: CRMSYNC_DATABASE_URL") and BAD_URLS[url] in result.stderr, (
            command, result.output)
        assert "hunter2" not in result.output and "Traceback" not in result.output


def test_outbox_retry_of_an_unknown_item_fails_in_one_line(workdir: Path, cli) -> None:
    url = f"sqlite:///{workdir / 'store.db'}"
    assert cli("db", "upgrade", env={"CRMSYNC_DATABASE_URL": url}).exit_code == 0
    result = cli("outbox", "retry", "42", env={"CRMSYNC_DATABASE_URL": url})
    assert result.exit_code == 1
    assert result.lines() == ["error: no outbox item 42: see `crmsync outbox list --dead`"]
    nothing = cli("outbox", "retry", "--all", env={"CRMSYNC_DATABASE_URL": url})
    assert nothing.exit_code == 0 and "there are no dead letters" in nothing.stdout


UNSET_HUBSPOT = {"name": "hubspot", "system": "hubspot", "credentials": {"access_token": "${HUBSPOT_TOKEN}"},
                 "objects": {"contacts": "both"}}
SALESFORCE = {"name": "salesforce", "system": "salesforce", "objects": {"Lead": "both"},
              "credentials": {"client_id": "sf-client", "client_secret": "sf-s3cr3t-value"}}
REASON = ("connection hubspot: environment variable HUBSPOT_TOKEN (credentials.access_token) is not set; export it "
          "or change the value in the configuration")


def test_a_connection_whose_variable_is_unset_blocks_only_what_needs_it(seeded, store_url, write_config, cli,
                                                                        monkeypatch) -> None:
    monkeypatch.delenv("HUBSPOT_TOKEN", raising=False)
    write_config(store_url, [SALESFORCE, UNSET_HUBSPOT])
    for command in (("status",), ("conflicts", "list"), ("records", "show", "--email", "ada@analytical.io"),
                    ("db", "upgrade"), ("mappings", "check"), ("errors", "list")):
        result = cli(*command)
        assert result.exit_code == 0, (command, result.output)
        assert "sf-s3cr3t-value" not in result.output
    status = cli("status")
    assert f"cannot run: {REASON}" in " ".join(status.stderr.split())
    needs_it = cli("sync", "hubspot", "--no-push")
    assert needs_it.exit_code == 1
    assert needs_it.lines() == [f"incremental of hubspot failed: {REASON}"], needs_it.output
    assert "sf-s3cr3t-value" not in needs_it.output
    serve = cli("serve", "--port", "0")
    assert serve.exit_code == 1 and serve.lines()[-1].startswith("error: crmsync serve runs every enabled connection")
    assert REASON in serve.lines()[-1] and "enabled: false" in serve.lines()[-1]


def test_sync_of_every_connection_syncs_the_others_and_reports_the_one_it_cannot_run(workdir: Path, write_config,
                                                                                      monkeypatch) -> None:
    monkeypatch.delenv("HUBSPOT_TOKEN", raising=False)
    url = f"sqlite:///{workdir / 'store.db'}"
    with SandboxRunner(["stripe"]) as sandbox:
        endpoint = sandbox.endpoints["stripe"]
        stripe = {"name": "stripe", "system": "stripe", "base_url": endpoint.base_url, "ca_bundle": endpoint.ca_bundle,
                  "credentials": {"api_key": endpoint.credentials["api_key"]}, "objects": {"customers": "pull"}}
        write_config(url, [stripe, UNSET_HUBSPOT])
        assert run_process("db", "upgrade", cwd=workdir).exit_code == 0
        result = run_process("sync", cwd=workdir)
    assert result.exit_code == 1, result.output
    assert "incremental of stripe: ok" in result.stdout
    assert " ".join(result.stderr.split()).count(REASON) == 1
    assert f"incremental of hubspot failed: {REASON}" in " ".join(result.stderr.split())
    assert "write-back to hubspot: waiting in the outbox (see above)" in result.stdout
    assert "Traceback" not in result.output and endpoint.credentials["api_key"] not in result.output


def test_a_failed_run_is_printed_once(workdir: Path, write_config) -> None:
    # A Stripe connection without its api_key: the run fails when it builds the connector.
    url = f"sqlite:///{workdir / 'store.db'}"
    write_config(url, [{"name": "stripe", "system": "stripe", "objects": {"customers": "pull"}}])
    assert run_process("db", "upgrade", cwd=workdir).exit_code == 0
    for command in (("sync", "stripe"), ("backfill", "stripe")):
        result = run_process(*command, cwd=workdir)
        assert result.exit_code == 1
        assert result.output.count("api_key: Field required") == 1, result.output
        assert result.stderr.strip().endswith("connection stripe (stripe): api_key: Field required"), result.output


def test_serve_refuses_a_port_that_is_taken_before_announcing_anything(workdir: Path, write_config) -> None:
    url = f"sqlite:///{workdir / 'store.db'}"
    write_config(url, [])
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_process("serve", "--port", str(port), "--no-scheduler", cwd=workdir, timeout=30)
    assert result.exit_code == 1
    assert result.lines() == [f"error: port {port} on 127.0.0.1 is already in use (another crmsync serve?); stop "
                              "that process or choose another port with --port or server.port"]
