"""The CLI as a user runs it: real store on disk, real exit codes, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from crmsync.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRMSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.delenv("CRMSYNC_CONFIG", raising=False)
    return tmp_path


def run(*args: str):
    return runner.invoke(app, list(args))


def test_commands_refuse_an_unmigrated_store_with_the_fix(env):
    result = run("conflicts", "list")
    assert result.exit_code == 1
    assert "run `crmsync db upgrade`" in result.output and "Traceback" not in result.output


def test_db_upgrade_then_demo_data_can_be_inspected(env):
    assert run("db", "upgrade").exit_code == 0
    demo = runner.invoke(app, ["demo", "--db", str(env / "store.db")], env={"COLUMNS": "250"})
    assert demo.exit_code == 0, demo.output
    assert "Ada Lovelace" in demo.output and "lead_status" in demo.output
    # An edit made in Salesforce after the backfills reached HubSpot and Zoho through write-back.
    assert "Now Salesforce says 'Chief Analyst', HubSpot 'Chief Analyst', Zoho 'Chief Analyst'" in demo.output
    # ... and a HubSpot edit reached Salesforce through the webhook receiver.
    assert "Salesforce says 'Rear Admiral (ret.)'" in demo.output
    # Ada's Stripe payment named the Opportunity: linked to her and the deal, it won the deal in every CRM.
    assert "linked to Ada Lovelace and 'Analytical Engines upgrade'; deals won: 1." in demo.output
    assert ("The deal is won in all three CRMs: Salesforce 'Closed Won', HubSpot 'closedwon', Zoho 'Closed Won'."
            in demo.output)
    # Her Five9 call came through the receiver and was logged on her, once, in each CRM.
    links = ("│ Task ", "WhoId = Lead "), ("│ call ", "associated to contact "), ("│ Call ", "What_Id = Leads ")
    rows = [line for line in demo.output.splitlines() if any(a in line and b in line for a, b in links)]
    assert [row.split("│")[1].strip() for row in rows] == ["Salesforce", "HubSpot", "Zoho"], rows
    assert "The call is on Ada once in each CRM (Salesforce, HubSpot, Zoho)" in demo.output
    shown = run("records", "show", "--email", "ADA@analytical.io")
    assert shown.exit_code == 0
    assert "zoho" in shown.output and "hubspot" in shown.output and "│ salesforce │ Lead " in shown.output
    listed = run("conflicts", "list")
    assert "identity" in listed.output and "lead_status" in listed.output


def test_conflict_show_and_resolve(env):
    run("demo", "--db", str(env / "store.db"))
    listing = run("conflicts", "list", "--kind", "field").output
    field_id = next(line.split()[1] for line in listing.splitlines() if line.startswith("│"))
    shown = run("conflicts", "show", field_id)
    assert "salesforce" in shown.output and "hubspot" in shown.output
    bad = run("conflicts", "resolve", field_id, "--take", "zoho")
    assert bad.exit_code == 1 and "must be one of the systems" in bad.output
    assert run("conflicts", "resolve", field_id, "--take", "hubspot").exit_code == 0
    assert "qualified" in run("records", "show", "--email", "ada@analytical.io").output
    missing = run("conflicts", "show", "999")
    assert missing.exit_code == 1 and "no conflict 999" in missing.output


def test_mappings_check_lists_problems_and_exits_nonzero(env):
    assert run("mappings", "check").exit_code == 0
    (env / "maps").mkdir()
    (env / "maps" / "zoho.yaml").write_text(
        "system: zoho\nobjects:\n  Leads:\n    entity: lead\n    fields:\n      - {source: Mail, target: mail}\n")
    result = run("mappings", "check", "--dir", str(env / "maps"))
    assert result.exit_code == 1
    assert "zoho.yaml: object Leads, field #1 (Mail): target 'mail' is not a field of lead" in result.output


def test_bad_config_names_the_key(env):
    (env / "crmsync.yaml").write_text("database_url: sqlite:///x.db\nmerge:\n  default_strategy: loudest\n")
    result = run("--config", str(env / "crmsync.yaml"), "conflicts", "list")
    assert result.exit_code == 1 and "merge.default_strategy" in result.output
    debug = runner.invoke(app, ["--debug", "--config", str(env / "crmsync.yaml"), "conflicts", "list"])
    assert debug.exception is not None  # --debug lets the traceback through
