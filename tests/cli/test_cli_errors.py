"""`crmsync errors list | show | retry`: failures kept with their payload, re-applied through the ingest path.
On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from cli_support import ingest
from sqlalchemy import select

from crmsync.mappings.loader import mapping_files
from crmsync.store import db
from crmsync.store.models import ExternalRef, Lead, RecordError

BAD_PHONE_LEAD = "00Q000000000005AAA"  # bundled Salesforce lead whose Phone is 'call me maybe'


def error_rows(store_url: str) -> list[tuple[int, str, str | None]]:
    engine = db.make_engine(store_url)
    with engine.connect() as conn:
        rows = conn.execute(select(RecordError.id, RecordError.error, RecordError.run_id)  # type: ignore[call-overload]
                            .where(RecordError.external_id == BAD_PHONE_LEAD).order_by(RecordError.id)).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_list_and_show(seeded, cli) -> None:
    listed = cli("errors", "list")
    assert listed.exit_code == 0, listed.output
    assert re.search(rf"│ salesforce +│ Lead +│ {BAD_PHONE_LEAD} +│ Lead\.Phone: 'call me maybe' is not a valid phone",
                     listed.stdout), listed.stdout
    assert "1 of 1 (newest first)" in listed.stdout
    assert "no record errors for hubspot" in cli("errors", "list", "--connection", "hubspot").stdout
    error_id = re.search(r"│ (\d+) +│", listed.stdout).group(1)  # type: ignore[union-attr]
    shown = cli("errors", "show", error_id)
    assert shown.exit_code == 0, shown.output
    assert f"record error {error_id}: salesforce Lead {BAD_PHONE_LEAD}" in shown.stdout
    assert '"Phone": "call me maybe"' in shown.stdout and '"Email": "bad.phone@example.com"' in shown.stdout
    missing = cli("errors", "show", "999")
    assert missing.exit_code == 1 and missing.lines() == ["error: no record error 999: see `crmsync errors list`"]


def test_a_retry_that_still_fails_keeps_one_row_with_the_new_reason(seeded, store_url, cli) -> None:
    [(error_id, _reason, first_run)] = error_rows(store_url)
    for _ in range(2):  # retried twice: never a second row for the record
        result = cli("errors", "retry", str(error_id))
        assert result.exit_code == 1, result.output
        assert f"error {error_id} (salesforce Lead {BAD_PHONE_LEAD}): still fails: Lead.Phone:" in result.stdout
        assert "0 applied, 1 still failing, 0 skipped" in result.stdout
        [(kept_id, reason, run_id)] = error_rows(store_url)
        assert kept_id == error_id and "call me maybe" in reason and run_id not in (None, first_run)


def test_a_retry_after_the_mapping_is_fixed_applies_and_removes_the_error(seeded, store_url, workdir: Path,
                                                                         cli) -> None:
    # A record read by a sync carries its SystemModstamp; the retry applies it at that time, not at its own.
    ingest(seeded, "salesforce", "Lead", {"Id": "00Q000000000009AAA", "LastName": "Late", "Email": "late@example.com",
                                          "Phone": "n/a", "SystemModstamp": "2026-11-06T12:00:00.000+0000"},
           "2026-11-06T12:00:00Z")
    # The operator decides unparseable phone numbers are dropped, not refused, in their own mapping directory.
    fixed = workdir / "mappings"
    fixed.mkdir()
    text = mapping_files()["salesforce"].read_text(encoding="utf-8")
    fixed.joinpath("salesforce.yaml").write_text(text.replace(
        "{source: Phone, target: phone, transforms: [phone]}",
        "{source: Phone, target: phone, transforms: [{phone: {on_invalid: drop}}]}", 1), encoding="utf-8")
    config = yaml.safe_load(seeded.read_text(encoding="utf-8"))
    seeded.write_text(yaml.safe_dump({**config, "mapping_dir": str(fixed)}), encoding="utf-8")
    result = cli("errors", "retry", "--all", "--connection", "salesforce")
    assert result.exit_code == 0, result.output
    assert f"(salesforce Lead {BAD_PHONE_LEAD}): applied; its error is removed" in result.stdout
    assert "(salesforce Lead 00Q000000000009AAA): applied" in result.stdout
    assert "2 applied, 0 still failing, 0 skipped" in result.stdout
    assert error_rows(store_url) == []
    engine = db.make_engine(store_url)
    with engine.connect() as conn:
        lead_id = conn.execute(select(ExternalRef.canonical_id).where(
            ExternalRef.external_id == BAD_PHONE_LEAD)).scalar()
        lead = conn.execute(select(Lead.email, Lead.phone).where(Lead.id == lead_id)).one()
    engine.dispose()
    assert tuple(lead) == ("bad.phone@example.com", None)
    shown = cli("records", "show", "--email", "late@example.com")
    assert re.search(r"│ email +│ late@example\.com +│ salesforce +│ 2026-11-06 12:00:00", shown.stdout), shown.stdout
    assert cli("errors", "list").stdout.startswith("no record errors")


def test_retry_needs_an_id_or_all_and_refuses_unknown_ids(seeded, cli) -> None:
    for args, message in ((("errors", "retry"), "give a record error's id or --all"),
                          (("errors", "retry", "5", "--all"), "give a record error's id or --all"),
                          (("errors", "retry", "999"), "no record error 999")):
        result = cli(*args)
        assert result.exit_code == 1 and len(result.lines()) == 1 and message in result.stderr, result.output
