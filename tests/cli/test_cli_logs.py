"""What commands log: no token warning for connections that keep no token, no `hubspot hubspot:`, vendor
request logs only with --debug, no APScheduler or repeated warnings as noise. (The log set-up is imported where
it is used, so that this module also runs against code from before it existed.)"""

from __future__ import annotations

import logging
import threading

import pytest
import yaml
from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from apscheduler.schedulers.background import BackgroundScheduler
from cli_support import CliResult, run_process

from crmsync.store import db

# A Salesforce org that cannot be reached (nothing listens on port 1): the run fails at its first login.
UNREACHABLE_SALESFORCE = {"name": "salesforce", "system": "salesforce", "base_url": "http://127.0.0.1:1",
                          "credentials": {"client_id": "id", "client_secret": "secret", "username": "u",
                                          "password": "p"},
                          "objects": {"Lead": "pull"}, "options": {"max_attempts": 1}}
STRIPE = {"name": "stripe", "system": "stripe", "base_url": "http://127.0.0.1:1", "objects": {"customers": "pull"},
          "credentials": {"api_key": "sk_test_unused"}, "options": {"max_attempts": 1}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliResult]:
    """One failing sync of each connection as a user starts it, and the Salesforce one again with --debug."""
    workdir = tmp_path_factory.mktemp("logs")
    url = f"sqlite:///{workdir / 'store.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    config = {"database_url": url, "connections": [UNREACHABLE_SALESFORCE, STRIPE]}
    (workdir / "crmsync.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return {"stripe": run_process("sync", "stripe", "--no-push", cwd=workdir),
            "salesforce": run_process("sync", "salesforce", "--no-push", cwd=workdir),
            "salesforce --debug": run_process("--debug", "sync", "salesforce", "--no-push", cwd=workdir)}


def test_the_token_warning_is_for_connections_that_obtain_tokens_only(runs: dict[str, CliResult]) -> None:
    stripe, salesforce = runs["stripe"], runs["salesforce"]
    assert stripe.exit_code == 1  # it cannot reach its API either; what matters is what it does not say
    assert "CRMSYNC_SECRET_KEY" not in stripe.output, stripe.output
    assert salesforce.exit_code == 1
    assert salesforce.stderr.count("CRMSYNC_SECRET_KEY") == 1, salesforce.output
    assert "warning: salesforce: CRMSYNC_SECRET_KEY is not set, so the OAuth token this connection obtains is not " \
           "kept; every run logs in again" in salesforce.stderr


def test_messages_name_a_connection_called_after_its_system_once(runs: dict[str, CliResult]) -> None:
    result = runs["salesforce"]
    assert "incremental of salesforce failed: salesforce: cannot reach the token endpoint" in result.stderr, \
        result.output
    assert "salesforce salesforce" not in result.output  # (a --debug traceback shows the exception as raised)


def test_vendor_request_logs_appear_only_with_debug(runs: dict[str, CliResult]) -> None:
    quiet, loud = runs["salesforce"], runs["salesforce --debug"]
    assert "urllib3" not in quiet.output and "Starting new HTTP connection" not in quiet.output
    assert "debug urllib3.connectionpool: Starting new HTTP connection (1): 127.0.0.1:1" in loud.stderr, loud.output


def test_serve_logs_leave_vendor_info_out(capsys) -> None:
    from crmsync.commands.logs import configure_logging

    configure_logging(debug=False, verbose=True, serving=True)
    logging.getLogger("httpx").info("HTTP Request: POST https://api.hubapi.com/crm/v3/objects/contacts")
    logging.getLogger("urllib3.connectionpool").info("Resetting dropped connection: api.stripe.com")
    logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
    logging.getLogger("crmsync.serve").info("receiving webhooks for hubspot")
    err = capsys.readouterr().err
    assert "receiving webhooks for hubspot" in err and "info crmsync.serve:" in err
    assert "hubapi" not in err and "stripe" not in err and "SQLiteImpl" not in err


def skipped_run_output(capsys: pytest.CaptureFixture[str], debug: bool) -> str:
    """What `serve`'s logging shows while APScheduler skips a job whose previous run is still going."""
    from crmsync.commands.logs import configure_logging

    configure_logging(debug=debug, verbose=True, serving=True)
    release, skipped = threading.Event(), threading.Event()
    scheduler = BackgroundScheduler(job_defaults={"max_instances": 1})
    scheduler.add_listener(lambda _event: skipped.set(), EVENT_JOB_MAX_INSTANCES)
    scheduler.add_job(release.wait, "interval", seconds=0.05, args=[10])  # the first run holds its instance
    scheduler.start()
    try:
        assert skipped.wait(10), "APScheduler never skipped a run"
    finally:
        release.set()
        scheduler.shutdown(wait=True)
    return capsys.readouterr().err


def test_an_overlapping_scheduled_job_is_not_a_warning(capsys) -> None:
    assert "maximum number of running instances" not in skipped_run_output(capsys, debug=False)
    shown = [line for line in skipped_run_output(capsys, debug=True).splitlines()
             if "maximum number of running instances" in line]
    assert shown and all(line.split(" ", 2)[2].startswith("debug apscheduler.scheduler:") for line in shown), shown


def test_serve_shows_a_repeated_warning_once_an_hour(capsys) -> None:
    from crmsync.commands.logs import configure_logging

    configure_logging(debug=False, verbose=True, serving=True)
    log = logging.getLogger("crmsync.serve")
    for _ in range(3):  # e.g. a notification channel renewal failing every minute
        log.warning("%s: notification channel renewal failed (%s); will try again", "zoho",
                    "zoho zoho: notifications need notify_url")
    log.warning("%s: cannot subscribe to notifications; polling still runs", "zoho")
    lines = [line for line in capsys.readouterr().err.splitlines() if "zoho" in line]
    assert len(lines) == 2, lines
    assert lines[0].endswith("warning crmsync.serve: zoho: notification channel renewal failed (zoho: notifications "
                             "need notify_url); will try again")
