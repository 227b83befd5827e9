"""Every shape of canonical record, mapped by the built-in HubSpot mapping and written by the real connector to the
HubSpot emulator: written, or held up front with the reason (never an INVALID_OPTION from HubSpot)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hubspot_sandbox_support import EMULATOR_OPTIONS, HubSpotPortalAdmin
from mapping_writes_support import CALLS, COMPANIES, DEALS, LEADS, connected, push
from sandbox_support import running_emulator
from vendor_options import HUBSPOT_INDUSTRIES

from crmsync.connectors.base import Connector
from crmsync.mappings.loader import MappingSet
from crmsync.sandbox.hubspot.schema import LIFECYCLE_STAGES

RETRIES = {"retry_initial_seconds": 0.001, "retry_max_seconds": 0.005, "max_attempts": 3, "timeout_seconds": 10}


@pytest.fixture(scope="module")
def portal() -> Iterator[HubSpotPortalAdmin]:
    with running_emulator("hubspot", EMULATOR_OPTIONS) as (runner, http):
        yield HubSpotPortalAdmin(runner.endpoints["hubspot"], http, runner)


@pytest.fixture
def connector(portal: HubSpotPortalAdmin) -> Iterator[Connector]:
    portal.admin("POST", "reset")
    # The emulator offers 8 of HubSpot's default industry options; a real portal has them all (and crmsync writes
    # only defaults: tests/mappings/test_mapping_vocabularies.py). Give this portal the real defaults, as an admin
    # can through the properties API.
    options = [{"label": value.replace("_", " ").title(), "value": value} for value in HUBSPOT_INDUSTRIES]
    answer = portal.api("PATCH", "/crm/v3/properties/companies/industry", json={"options": options})
    assert answer.status_code == 200, answer.text
    config: dict[str, Any] = {
        "name": "hs", "system": "hubspot", "base_url": portal.base_url, "ca_bundle": portal.endpoint.ca_bundle,
        "credentials": {"access_token": portal.token},
        "objects": {"contacts": "both", "companies": "both", "deals": "both", "calls": "both"}, "options": RETRIES}
    with connected(config) as made:
        yield made


def _stored(portal: HubSpotPortalAdmin, object_type: str) -> dict[str, dict[str, Any]]:
    return {row["properties"]["crmsync_id"]: row["properties"] for row in portal.admin("GET", f"records/{object_type}")}


def test_every_contact_shape_is_written(portal: HubSpotPortalAdmin, connector: Connector,
                                        mappings: MappingSet) -> None:
    stages = {f"lead-stage-{stage}": {"email": f"{stage}@stages.example", "lifecycle_stage": stage}
              for stage in (*LIFECYCLE_STAGES, "1234567")}  # a custom stage id of another portal
    contacts = push(connector, mappings, "hubspot", "contacts", {**LEADS, **stages})
    assert contacts.held == {}
    stored = _stored(portal, "contacts")
    assert stored["lead-status-nurturing"]["hs_lead_status"] == "BAD_TIMING"
    assert not stored["lead-status-custom"].get("hs_lead_status")
    assert not stored["lead-stage-1234567"].get("lifecyclestage")
    assert stored["lead-phone-only"]["phone"] == "+12125550123"


def test_companies_of_every_industry_are_written_without_raw_vendor_values(portal: HubSpotPortalAdmin,
                                                                          connector: Connector,
                                                                          mappings: MappingSet) -> None:
    companies = push(connector, mappings, "hubspot", "companies", COMPANIES)
    assert companies.held == {}
    industries = {cid: props.get("industry") for cid, props in _stored(portal, "companies").items()}
    assert industries["company-banking"] == "BANKING" and industries["company-technology"] == (
        "INFORMATION_TECHNOLOGY_AND_SERVICES")
    assert {cid for cid, value in industries.items() if not value} == {
        "company-nameless", "company-engineering", "company-manufacturing", "company-media", "company-other"}


def test_deals_of_every_stage_are_written_in_the_default_pipeline(portal: HubSpotPortalAdmin, connector: Connector,
                                                                   mappings: MappingSet) -> None:
    deals = push(connector, mappings, "hubspot", "deals", DEALS)
    assert deals.held == {"deal-name-only": "HubSpot deals needs properties.dealstage; this deal has no stage"}
    stored = _stored(portal, "deals")
    assert {props["pipeline"] for props in stored.values()} == {"default"}
    assert stored["deal-negotiation"]["dealstage"] == "contractsent"


def test_calls_are_logged_on_a_contact_with_a_time_and_held_otherwise(portal: HubSpotPortalAdmin,
                                                                     connector: Connector,
                                                                     mappings: MappingSet) -> None:
    people = push(connector, mappings, "hubspot", "contacts", {"lead-full": LEADS["lead-full"]})
    calls = push(connector, mappings, "hubspot", "calls", CALLS,
                 lambda obj, cid: people.ref(cid) if obj == "contacts" else None)
    assert calls.held == {
        "call-without-person": "HubSpot calls needs associations.contacts.0; this activity has no lead_id",
        "call-person-not-there": "HubSpot calls needs associations.contacts.0; this activity has lead_id "
                                 "'lead-phone-only', which is not in HubSpot yet",
        "call-without-start": "HubSpot calls needs properties.hs_timestamp; this activity has no started_at",
        "call-minimal": "HubSpot calls needs properties.hs_timestamp; this activity has no started_at"}
    stored = _stored(portal, "calls")
    assert stored["call-inbound"]["hs_call_direction"] == "INBOUND"
    assert not stored["call-missed"].get("hs_call_direction") and not stored["call-internal"].get("hs_call_direction")
    assert {props["hs_call_status"] for props in stored.values()} == {"COMPLETED"}
