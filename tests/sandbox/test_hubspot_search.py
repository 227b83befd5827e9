"""HubSpot emulator search: filters, sorts, limits and the 10,000-result cap, through the SDK."""

from __future__ import annotations

import json

import hubspot_sandbox_support as fixtures
import pytest
from hubspot.crm.objects import ApiException
from hubspot_sandbox_support import HubSpotPortalAdmin

hubspot_emulator, portal = fixtures.hubspot_emulator, fixtures.portal  # fixtures used by name


def _search(portal: HubSpotPortalAdmin, object_type: str, **body: object) -> object:
    return portal.sdk().crm.objects.search_api.do_search(object_type, body)


def test_filters_sorts_and_operators(portal: HubSpotPortalAdmin) -> None:
    ids = [portal.create("deals", dealname=name, amount=amount, dealstage=stage) for name, amount, stage in (
        ("alpha", "100", "closedwon"), ("beta", "250.5", "closedlost"), ("gamma", "999", "closedwon"))]
    portal.create("deals", dealname="no amount")
    found = _search(portal, "deals", filterGroups=[{"filters": [
        {"propertyName": "amount", "operator": "BETWEEN", "value": "100", "highValue": "300"}]}],
        sorts=[{"propertyName": "amount", "direction": "DESCENDING"}], properties=["dealname"])
    assert [r.properties["dealname"] for r in found.results] == ["beta", "alpha"] and found.total == 2
    either = _search(portal, "deals", filterGroups=[
        {"filters": [{"propertyName": "dealstage", "operator": "IN", "values": ["closedlost"]}]},
        {"filters": [{"propertyName": "amount", "operator": "GT", "value": "500"}]}])
    assert sorted(r.id for r in either.results) == sorted([ids[1], ids[2]])
    missing = _search(portal, "deals", filterGroups=[{"filters": [
        {"propertyName": "amount", "operator": "NOT_HAS_PROPERTY"}]}])
    assert missing.total == 1
    text = _search(portal, "deals", query="gam")
    assert [r.id for r in text.results] == [ids[2]]


def test_limit_above_200_is_a_400(portal: HubSpotPortalAdmin) -> None:
    with pytest.raises(ApiException) as refused:
        _search(portal, "contacts", limit=201)
    assert refused.value.status == 400 and json.loads(refused.value.body)["category"] == "VALIDATION_ERROR"


def test_the_10000_result_cap_includes_records_sharing_one_timestamp(portal: HubSpotPortalAdmin) -> None:
    portal.admin("POST", "clock/freeze")
    portal.seed("contacts", 10_050)  # all stamped with one instant
    portal.admin("POST", "clock/unfreeze")
    body = {"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate", "operator": "GTE", "value": "0"}]}],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}], "limit": 200}
    last_allowed = _search(portal, "contacts", **body, after="9800")
    assert last_allowed.total == 10_050 and len(last_allowed.results) == 200
    assert last_allowed.paging.next.after == "10000"  # offered, as HubSpot does, though it cannot be served
    with pytest.raises(ApiException) as beyond:
        _search(portal, "contacts", **body, after="10000")
    assert beyond.value.status == 400
    stamps = {r.properties["lastmodifieddate"] for r in last_allowed.results}
    same = _search(portal, "contacts", filterGroups=[{"filters": [
        {"propertyName": "lastmodifieddate", "operator": "EQ", "value": stamps.pop()}]}], limit=1)
    assert same.total == 10_050
    by_id = _search(portal, "contacts", filterGroups=[{"filters": [
        {"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(same.results[0].updated_at.timestamp()
                                                                             * 1000).split(".")[0]},
        {"propertyName": "hs_object_id", "operator": "GT", "value": "11000"}]}],
        sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}], limit=5)
    assert [int(r.id) for r in by_id.results] == list(range(11001, 11006))
