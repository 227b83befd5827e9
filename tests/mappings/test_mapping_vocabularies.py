"""Canonical vocabularies of the enumerated fields, and the vendors' own option lists: every value a built-in
map reads is canonical, every value it writes is one the vendor offers (by default, and in our emulators where
they enforce it), and every canonical value travels to each CRM that has an equivalent."""

from __future__ import annotations

from collections.abc import Collection

import pytest
from vendor_options import (
    CALL_DIRECTIONS,
    DEAL_STAGES,
    HUBSPOT_INDUSTRIES,
    INDUSTRIES,
    LEAD_STATUSES,
    SALESFORCE_INDUSTRIES,
    ZOHO_INDUSTRIES,
)

from crmsync.mappings.core import OMIT
from crmsync.mappings.loader import MappingSet, load_mappings
from crmsync.sandbox.hubspot import schema as hubspot_emulator
from crmsync.sandbox.salesforce import schema as salesforce_emulator
from crmsync.sandbox.zoho import modules as zoho_emulator

# (system, object, source): vocabulary, what the vendor offers by default, what our emulator offers
ENUMERATED = {
    ("salesforce", "Account", "Industry"): (INDUSTRIES, SALESFORCE_INDUSTRIES, salesforce_emulator.INDUSTRIES),
    ("hubspot", "companies", "properties.industry"): (INDUSTRIES, HUBSPOT_INDUSTRIES, hubspot_emulator.INDUSTRIES),
    ("zoho", "Accounts", "Industry"): (INDUSTRIES, ZOHO_INDUSTRIES, zoho_emulator.INDUSTRIES),
    ("salesforce", "Lead", "Status"): (LEAD_STATUSES, salesforce_emulator.LEAD_STATUSES, None),
    ("hubspot", "contacts", "properties.hs_lead_status"): (LEAD_STATUSES, hubspot_emulator.LEAD_STATUSES, None),
    ("zoho", "Leads", "Lead_Status"): (LEAD_STATUSES, zoho_emulator.LEAD_STATUSES, None),
    ("salesforce", "Opportunity", "StageName"): (DEAL_STAGES, salesforce_emulator.OPPORTUNITY_STAGES, None),
    ("hubspot", "deals", "properties.dealstage"): (DEAL_STAGES, hubspot_emulator.DEAL_STAGES, None),
    ("zoho", "Deals", "Stage"): (DEAL_STAGES, zoho_emulator.DEAL_STAGES, None),
    ("salesforce", "Task", "CallType"): (CALL_DIRECTIONS, ("Internal", "Inbound", "Outbound"), None),
    ("hubspot", "calls", "properties.hs_call_direction"): (CALL_DIRECTIONS, ("INBOUND", "OUTBOUND"), None),
    ("zoho", "Calls", "Call_Type"): (CALL_DIRECTIONS, zoho_emulator.CALL_TYPES, None),
    ("hubspot", "contacts", "properties.lifecyclestage"): (hubspot_emulator.LIFECYCLE_STAGES,
                                                           hubspot_emulator.LIFECYCLE_STAGES, None),
}


@pytest.fixture(scope="module")
def mappings() -> MappingSet:
    return load_mappings()


def _map_of(mappings: MappingSet, system: str, obj: str, source: str) -> tuple[dict[str, str], dict[str, object]]:
    """(what each vendor value reads as, what each canonical value is written as: OMIT when left out)."""
    mapper = mappings.get(system, obj)
    rule = next(r for r in mapper._out if r.sources == (source,))
    (transform,) = [t for t in rule.chain if t.name == "map"]
    assert transform.reverse is not None
    vocabulary = ENUMERATED[(system, obj, source)][0]
    written = {value: transform.reverse(value, {}) for value in vocabulary}
    read = {value: transform.forward(value, {}) for value in ENUMERATED[(system, obj, source)][1]}
    return read, written


@pytest.mark.parametrize("key", list(ENUMERATED), ids="/".join)
def test_every_vendor_option_reads_as_a_canonical_value(mappings: MappingSet, key: tuple[str, str, str]) -> None:
    vocabulary = ENUMERATED[key][0]
    read, _ = _map_of(mappings, *key)
    assert {option: value for option, value in read.items() if value not in vocabulary} == {}


@pytest.mark.parametrize("key", list(ENUMERATED), ids="/".join)
def test_every_canonical_value_is_written_as_an_option_that_reads_back_as_it(mappings: MappingSet,
                                                                             key: tuple[str, str, str]) -> None:
    _, defaults, _ = ENUMERATED[key]
    read, written = _map_of(mappings, *key)
    for value, option in written.items():
        if option is not OMIT:
            assert option in defaults and read[option] == value, (value, option)


@pytest.mark.parametrize("key", [k for k, v in ENUMERATED.items() if v[2] is not None], ids="/".join)
def test_the_emulators_industry_options_are_vendor_defaults_too(key: tuple[str, str, str]) -> None:
    _, defaults, emulated = ENUMERATED[key]
    assert set(emulated) <= set(defaults)


def _written_values(mappings: MappingSet, key: tuple[str, str, str]) -> Collection[str]:
    return {v for v in _map_of(mappings, *key)[1].values() if v is not OMIT}  # type: ignore[misc]


def test_what_each_crm_takes_of_the_canonical_vocabularies(mappings: MappingSet) -> None:
    left_out = {key: sorted(k for k, v in _map_of(mappings, *key)[1].items() if v is OMIT) for key in ENUMERATED}
    assert left_out[("salesforce", "Account", "Industry")] == ["real_estate"]
    assert left_out[("hubspot", "companies", "properties.industry")] == ["engineering", "manufacturing", "media",
                                                                          "other"]
    assert left_out[("zoho", "Accounts", "Industry")] == sorted(
        set(INDUSTRIES) - {"technology", "government", "communications", "consulting", "education", "finance",
                           "manufacturing", "real_estate"})
    assert left_out[("salesforce", "Lead", "Status")] == ["nurturing"]
    assert left_out[("hubspot", "calls", "properties.hs_call_direction")] == ["internal", "missed"]
    assert left_out[("salesforce", "Task", "CallType")] == ["missed"]
    assert left_out[("zoho", "Calls", "Call_Type")] == ["internal"]
    for key in [k for k in ENUMERATED if k[2] in ("StageName", "properties.dealstage", "Stage")]:
        assert left_out[key] == [], key
    assert _written_values(mappings, ("hubspot", "calls", "properties.hs_call_direction")) == {"INBOUND", "OUTBOUND"}


def test_hubspot_status_constants_and_pipeline_are_emulator_options(mappings: MappingSet) -> None:
    calls = mappings.get("hubspot", "calls").to_payload({"subject": "Call"})["properties"]
    assert calls["hs_call_status"] in hubspot_emulator.CALL_STATUSES
    deals = mappings.get("hubspot", "deals").to_payload({"name": "Big"})["properties"]
    assert deals["pipeline"] == "default"
    task = mappings.get("salesforce", "Task").to_payload({"subject": "Call"})
    assert task["Status"] in salesforce_emulator.TASK_STATUSES and task["TaskSubtype"] == task["Type"] == "Call"
