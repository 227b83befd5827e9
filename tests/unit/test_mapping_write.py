"""Write-back options of a mapping: write defaults (and reading them back as empty), `out` constants, value maps
that drop what the target cannot hold, `required` fields and link-only objects; each option's misuse is a
problem located by file, object and field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crmsync.errors import RecordMappingError, RecordNotWritable
from crmsync.mappings.loader import check_mappings, load_mappings
from crmsync.mappings.mapper import ObjectMapper
from crmsync.sync_engine.records import SourceRecord

WHEN = datetime(2024, 5, 1, tzinfo=UTC)
LEADS = """
system: salesforce
objects:
  Lead:
    entity: lead
    id_field: Id
    required: [LastName, Company, [Email, Phone]]
    fields:
      - {source: Email, target: email, transforms: [trim, lower]}
      - {source: Phone, target: phone}
      - {source: LastName, target: last_name, transforms: [trim]}
      - {source: Company, target: company_name, transforms: [trim], write_default: "[not provided]"}
      - source: Status
        target: lead_status
        transforms: [{map: {values: {Open: new, Working: working}, out_unknown: drop}}]
      - {source: OwnerId, target: owners, direction: in, per_system: true}
      - {source: LeadSource, constant: crmsync, direction: out}
      - {constant: web, target: source, direction: in}
    custom_fields: {match: "*__c"}
"""


def mapper_of(tmp_path: Path, text: str, system: str = "salesforce", obj: str = "Lead") -> ObjectMapper:
    (tmp_path / f"{system}.yaml").write_text(text)
    return load_mappings(tmp_path).get(system, obj)


def problems_of(tmp_path: Path, text: str, system: str = "salesforce") -> list[str]:
    (tmp_path / f"{system}.yaml").write_text(text)
    return [str(p) for p in check_mappings(tmp_path) if p.file == str(tmp_path / f"{system}.yaml")]


def read(mapper: ObjectMapper, payload: dict[str, Any]) -> dict[str, Any]:
    return mapper.to_patch(SourceRecord(mapper.system, mapper.object, "00Q1", WHEN, payload)).values


def test_a_write_default_fills_an_empty_value_and_reads_back_as_empty(tmp_path: Path) -> None:
    lead = mapper_of(tmp_path, LEADS)
    assert lead.to_payload({"last_name": "Lovelace"})["Company"] == "[not provided]"
    assert lead.to_payload({"company_name": "Analytical"})["Company"] == "Analytical"
    # A field cleared in another system is written as the placeholder too, when a push carries it.
    assert lead.to_payload({"company_name": None, "email": "a@b.io"}, only=["company_name"]) == {
        "Company": "[not provided]"}
    assert read(lead, {"Company": "[not provided]", "LastName": "Lovelace"}) == {"last_name": "Lovelace",
                                                                               "source": "web"}
    assert read(lead, {"Company": "Analytical"})["company_name"] == "Analytical"
    assert read(lead, {"Company": " [not provided]"})["company_name"] == "[not provided]"  # only our exact value


def test_a_pushed_placeholder_hashes_like_the_record_read_back(tmp_path: Path) -> None:
    """Echo suppression: the push's hash (its payload mapped in) equals the hash of the record read back."""
    lead = mapper_of(tmp_path, LEADS)
    pushed = lead.to_payload({"email": "ada@example.com", "last_name": "Lovelace", "lead_status": "new"})
    stored = {**pushed, "Id": "00Q1", "OwnerId": "005x", "Rating__c": None}
    hashes = [lead.to_patch(SourceRecord("salesforce", "Lead", "00Q1", WHEN, p)).echo_hash() for p in (pushed, stored)]
    assert hashes[0] == hashes[1]


def test_out_constants_are_written_on_full_payloads_only_and_never_read(tmp_path: Path) -> None:
    lead = mapper_of(tmp_path, LEADS)
    assert lead.to_payload({"email": "a@b.io"}) == {"Email": "a@b.io", "Company": "[not provided]",
                                                    "LeadSource": "crmsync"}
    assert lead.to_payload({"email": "a@b.io"}, only=["email"]) == {"Email": "a@b.io"}
    assert read(lead, {"LeadSource": "crmsync", "Region__c": "EU"}) == {"source": "web", "custom.Region__c": "EU"}
    # The constant read in is written back by construction (every record crmsync creates holds it), the owner never.
    assert lead.writes_back("source") and lead.writes_back("company_name") and not lead.writes_back("owners")


def test_a_value_the_target_cannot_hold_is_left_out(tmp_path: Path) -> None:
    lead = mapper_of(tmp_path, LEADS)
    assert "Status" not in lead.to_payload({"lead_status": "nurturing"})
    assert lead.to_payload({"lead_status": "working"}, only=["lead_status"]) == {"Status": "Working"}
    assert lead.to_payload({"lead_status": "nurturing"}, only=["lead_status"]) == {}


def test_out_unknown_error_refuses_the_record_naming_the_field(tmp_path: Path) -> None:
    lead = mapper_of(tmp_path, LEADS.replace("out_unknown: drop", "out_unknown: error"))
    with pytest.raises(RecordMappingError, match=r"Lead.Status: 'nurturing' has no value to write"):
        lead.to_payload({"lead_status": "nurturing"})


def test_required_fields_are_checked_only_when_creating(tmp_path: Path) -> None:
    lead = mapper_of(tmp_path, LEADS)
    full = {"email": "ada@example.com", "last_name": "Lovelace"}
    assert lead.to_payload(full, creating=True)["Company"] == "[not provided]"  # the default satisfies Company
    assert lead.to_payload({"phone": "+14155550101", "last_name": "Lovelace"}, creating=True)  # Email or Phone
    assert lead.to_payload({"email": "a@b.io"}) == {"Email": "a@b.io", "Company": "[not provided]",
                                                    "LeadSource": "crmsync"}  # an update needs nothing
    with pytest.raises(RecordNotWritable) as refused:
        lead.to_payload({"phone": "+14155550101"}, creating=True)
    assert str(refused.value) == ("Salesforce Lead needs LastName; this lead has no last_name "
                                  "(a phone-only caller?)")
    with pytest.raises(ValueError, match="a record is created whole"):
        lead.to_payload(full, only=["email"], creating=True)
    with pytest.raises(RecordNotWritable, match=r"needs LastName and Email or Phone; this lead has no last_name; "
                                                r"has no email; has no phone$"):
        lead.to_payload({"company_name": "Analytical"}, creating=True)


def test_option_misuse_is_located_by_file_object_and_field(tmp_path: Path) -> None:
    broken = """
system: salesforce
objects:
  Lead:
    entity: lead
    required: [Nickname, OwnerId, []]
    fields:
      - {source: Company, target: company_name, write_default: x, direction: in}
      - {source: AccountId, target: company_id, ref: Account, write_default: "000"}
      - {source: Title, target: title, default: none, write_default: none}
      - {source: Status, constant: Open}
      - {source: Rating, target: title, constant: Hot, direction: out}
      - {source: LeadSource, constant: web, direction: out, transforms: [trim]}
      - {constant: web, direction: in}
      - {source: OwnerId, target: owners, direction: in, per_system: true}
"""
    problems = problems_of(tmp_path, broken)
    text = "\n".join(problems)
    assert "field #1 (Company): `write_default` is written only; set `direction: both` or `out`" in text
    assert "field #2 (AccountId): `write_default` cannot be combined with ref" in text
    assert "field #3 (Title): `write_default` cannot be combined with default" in text
    assert "field #4 (Status): a constant is read into `target` (`direction: in`) or written to `source`" in text
    assert "field #5 (Rating): an `out` constant needs one `source` (the vendor field it is written to) and no " \
           "`target`" in text
    assert "field #6 (LeadSource): an `out` constant is written as it is; drop transforms" in text
    assert "field #7: a constant read in needs a `target`" in text
    # `per_system` rules are read only: a required field only they name is never written.
    assert "object Lead: required: 'Nickname' is written by no `out`/`both` rule, constant or custom field" in text
    assert "object Lead: required: 'OwnerId' is written by no" in text
    assert "object Lead: required: an empty list (one of nothing)" in text
    assert len(problems) == 10, problems


def test_a_required_custom_field_may_be_written_by_the_custom_fields_rule(tmp_path: Path) -> None:
    text = LEADS.replace("required: [LastName, Company, [Email, Phone]]", "required: [Region__c]")
    assert problems_of(tmp_path, text) == []
    with pytest.raises(RecordNotWritable, match="Salesforce Lead needs Region__c; this lead has nothing crmsync "
                                                "writes to Region__c"):
        mapper_of(tmp_path, text).to_payload({"email": "a@b.io"}, creating=True)
    assert mapper_of(tmp_path, text).to_payload({"custom.Region__c": "EU"}, creating=True)["Region__c"] == "EU"


def test_link_only_objects_mark_their_patches(tmp_path: Path) -> None:
    text = "system: five9\nobjects:\n  contacts:\n    entity: lead\n    id_field: phone\n    creates: false\n" \
           "    fields:\n      - {source: phone, target: phone, direction: in, transforms: [phone]}\n"
    contacts = mapper_of(tmp_path, text, "five9", "contacts")
    patch = contacts.to_patch(SourceRecord("five9", "contacts", "+14155550101", WHEN, {"phone": "4155550101"}))
    assert patch.link_only and patch.values == {"phone": "+14155550101"}
    assert not mapper_of(tmp_path, LEADS).to_patch(SourceRecord("salesforce", "Lead", "1", WHEN, {})).link_only


def test_a_broken_rule_is_reported_once_not_again_as_a_missing_required_field(tmp_path: Path) -> None:
    text = LEADS.replace("{source: LastName, target: last_name, transforms: [trim]}",
                         "{source: LastName, target: last_name, transforms: [trimm]}")
    assert [p.split(": ", 1)[1] for p in problems_of(tmp_path, text)] == [
        "object Lead, field #3 (LastName): unknown transform 'trimm' (known: bool, date, datetime, day, decimal, "
        "domain, int, join_name, lower, map, minor_units, mm_ss, phone, scale, split, split_name, string, trim, "
        "upper)"]


def test_a_write_default_on_a_split_name_reads_back_as_no_name(tmp_path: Path) -> None:
    text = ("system: stripe\nobjects:\n  customers:\n    entity: lead\n    fields:\n"
            "      - {source: name, target: [first_name, last_name], transforms: [split_name], write_default: Anon}\n")
    customers = mapper_of(tmp_path, text, "stripe", "customers")
    assert customers.to_payload({"email": "a@b.io"}) == {"name": "Anon"}
    assert customers.to_payload({"last_name": "Lovelace"}) == {"name": "Lovelace"}
    assert read(customers, {"name": "Anon"}) == {}
    assert read(customers, {"name": "Ada Lovelace"}) == {"first_name": "Ada", "last_name": "Lovelace"}
