"""`crmsync records show`: a record found by e-mail, phone, id, domain or any system's id, with provenance, links
and history; several matches listed, an unknown one a one-line error. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

from cli_support import ingest
from sqlalchemy import select

from crmsync.store import db
from crmsync.store.models import Lead


def test_a_lead_by_email_shows_each_value_with_its_source_and_its_links(seeded, cli) -> None:
    ingest(seeded, "salesforce", "Lead", {"Id": "00Q000000000001AAA", "OwnerId": "005000000000001AAA"},
           "2026-11-05T08:00:00Z")  # the record's owner in Salesforce, assigned later
    result = cli("records", "show", "--email", " ADA@analytical.io ")
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
            for line in result.stdout.splitlines() if line.startswith("│")}
    # value, source, source time, run: Zoho's record (newest, 2026-11-03 06:30 UTC) set the city last.
    assert rows["city"][:3] == ["London", "zoho", "2026-11-03 06:30:00"]
    assert rows["lead_status"][:2] == ["working", "salesforce"]  # manual: kept, a conflict opened
    assert rows["tags"][:2] == ["engineering, vip", "hubspot"]
    assert rows["owners.salesforce"][:3] == ["005000000000001AAA", "salesforce", "2026-11-05 08:00:00"]
    assert rows["custom.Rating__c"][:2] == ["Hot", "salesforce"]
    # linked records: connection -> object, id in that system
    assert rows["salesforce"][:2] == ["Lead", "00Q000000000001AAA"]
    assert rows["hubspot"][:2] == ["contacts", "101"]
    assert rows["zoho"][:1] == ["Leads"]


def test_the_same_lead_by_id_phone_and_any_systems_id(seeded, cli) -> None:
    by_email = cli("records", "show", "--email", "ada@analytical.io")
    record_id = re.search(r"lead ([0-9a-f]{32}):", by_email.stdout).group(1)  # type: ignore[union-attr]
    for selector in (("--id", record_id), ("--ref", "hubspot:101"), ("--ref", "salesforce:00Q000000000001AAA"),
                     ("--phone", "415-555-0101")):
        shown = cli("records", "show", *selector)
        assert shown.exit_code == 0 and f"lead {record_id}:" in shown.stdout, (selector, shown.output)


def test_several_matches_are_listed_not_chosen_between(seeded, cli) -> None:
    result = cli("records", "show", "--phone", "+44 20 7946 0958")
    assert result.exit_code == 0, result.output
    assert "3 leads match phone +44 20 7946 0958:" in result.stdout
    for person in ("Alan Turing <alan@bletchley.uk>", "Alan Turing (dup) <a.turing@bletchley.uk>", "A. Turing"):
        assert person in result.stdout
    assert "source time" not in result.stdout  # no single record was picked and shown


def test_history_shows_the_create_and_every_change_old_to_new(seeded, cli) -> None:
    result = cli("records", "show", "--email", "ada@analytical.io", "--history")
    assert result.exit_code == 0, result.output
    history = result.stdout[result.stdout.index("history"):]
    assert "create" in history and "set city, company_name" in history  # a create names the fields it set
    assert "title: CTO → Chief Technology Officer" in history  # hubspot's update
    assert "city: San Francisco → London" in history  # zoho's update


def test_deals_and_companies(seeded, cli) -> None:
    wrong = cli("records", "show", "--ref", "salesforce:006000000000001AAA")
    assert wrong.exit_code == 1 and "is a deal, not a lead: add --entity deal" in wrong.stderr
    deal = cli("records", "show", "--entity", "deal", "--ref", "salesforce:006000000000001AAA")
    assert deal.exit_code == 0, deal.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in deal.stdout.splitlines()
            if line.startswith("│")}
    assert rows["name"] == "Analytical Engines upgrade" and rows["stage"] == "prospecting"
    assert rows["amount"] == "12000" and rows["close_date"] == "2026-12-31"
    ingest(seeded, "salesforce", "Account", {"Id": "001000000000001AAA", "Name": "Analytical Engines Ltd",
                                             "Website": "https://www.analytical.io/"}, "2026-11-04T10:00:00Z")
    company = cli("records", "show", "--entity", "company", "--domain", "WWW.Analytical.io")
    assert company.exit_code == 0, company.output
    assert "Analytical Engines Ltd (analytical.io)" in company.stdout and "001000000000001AAA" in company.stdout


def test_a_merged_record_is_followed_to_the_one_that_absorbed_it(seeded, store_url, cli) -> None:
    engine = db.make_engine(store_url)
    with engine.connect() as conn:
        ids = dict(conn.execute(select(Lead.email, Lead.id)).all())  # type: ignore[call-overload]
    engine.dispose()
    listed = cli("conflicts", "list", "--kind", "identity").stdout
    conflict_id = next(line.split("│")[1].strip() for line in listed.splitlines() if "(dup)" in line)
    keep = ids["alan@bletchley.uk"]
    assert cli("conflicts", "resolve", conflict_id, "--take", keep).exit_code == 0
    shown = cli("records", "show", "--id", ids["a.turing@bletchley.uk"])
    assert shown.exit_code == 0, shown.output
    assert f"was merged into {keep}" in shown.stdout and f"lead {keep}:" in shown.stdout


def test_an_unknown_record_is_one_line_and_exit_1(seeded, cli) -> None:
    for args, message in ((("--email", "nobody@example.com"), "error: no lead with email nobody@example.com"),
                          (("--ref", "hubspot:999"), "error: no lead linked to hubspot:999"),
                          (("--ref", "hubspot"), "--ref 'hubspot': write it as CONNECTION:EXTERNAL_ID"),
                          (("--domain", "x.io"), "--domain does not name a lead"),
                          (("--phone", "call me"), "is not a phone number")):
        result = cli("records", "show", *args)
        assert result.exit_code == 1, (args, result.output)
        assert len(result.lines()) == 1 and message in result.stderr, (args, result.output)


def test_no_selector_or_two_are_refused(workdir: Path, cli) -> None:
    assert "name one record" in cli("records", "show").stderr
    assert "name one record" in cli("records", "show", "--email", "a@b.c", "--id", "x").stderr
