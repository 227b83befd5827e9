"""HubSpot emulator through hubspot-api-client over HTTPS: objects, batch, properties, associations, merges."""

from __future__ import annotations

import json

import hubspot_sandbox_support as fixtures
import pytest
from hubspot.crm.objects import ApiException, SimplePublicObjectInputForCreate
from hubspot_sandbox_support import HubSpotPortalAdmin

hubspot_emulator, portal = fixtures.hubspot_emulator, fixtures.portal  # fixtures used by name


def test_create_get_update_archive_and_list_with_the_sdks_wire_quirks(portal: HubSpotPortalAdmin) -> None:
    api = portal.sdk().crm.objects.basic_api
    created = api.create("contacts", SimplePublicObjectInputForCreate(properties={"email": "ada@example.com",
                                                                                 "firstname": "Ada"}))
    assert created.properties["hs_object_id"] == created.id and created.properties["lastmodifieddate"]
    got = api.get_by_id("contacts", created.id, properties=["email", "firstname"], archived=False)
    assert got.properties["firstname"] == "Ada" and got.properties["email"] == "ada@example.com"
    updated = api.update("contacts", created.id, {"properties": {"lastname": "Lovelace"}})
    assert updated.properties["lastname"] == "Lovelace" and updated.updated_at >= created.updated_at
    portal.seed("contacts", 25)
    ids, after = [], None
    while True:  # repeated properties= and archived=False, as the SDK sends them
        page = api.get_page("contacts", limit=10, after=after, properties=["email", "lastname"], archived=False)
        ids += [obj.id for obj in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert len(ids) == 26 == len(set(ids)) and ids == sorted(ids, key=int)
    api.archive("contacts", created.id)
    with pytest.raises(ApiException) as missing:
        api.get_by_id("contacts", created.id)
    body = json.loads(missing.value.body)
    assert missing.value.status == 404 and body["category"] == "OBJECT_NOT_FOUND" and body["correlationId"]
    archived = api.get_page("contacts", archived=True)
    assert [obj.id for obj in archived.results] == [created.id] and archived.results[0].archived


def test_batch_upsert_by_email_and_207_partial_errors(portal: HubSpotPortalAdmin) -> None:
    batch = portal.sdk().crm.objects.batch_api
    first = batch.upsert("contacts", {"inputs": [
        {"idProperty": "email", "id": "a@example.com", "properties": {"firstname": "A"}},
    ]})
    assert first.results[0].new is True
    again = batch.upsert("contacts", {"inputs": [
        {"idProperty": "email", "id": "a@example.com", "properties": {"firstname": "Anna"}, "objectWriteTraceId": "0"},
        {"idProperty": "email", "id": "not-an-email", "properties": {}, "objectWriteTraceId": "1"},
    ]})
    assert [(r.id, r.new, r.object_write_trace_id) for r in again.results] == [(first.results[0].id, False, "0")]
    [error] = again.errors
    assert error.category == "VALIDATION_ERROR" and error.context["objectWriteTraceId"] == ["1"]
    read = batch.read("contacts", {"properties": ["firstname"], "inputs": [{"id": first.results[0].id},
                                                                            {"id": "999999"}]})
    assert [r.properties["firstname"] for r in read.results] == ["Anna"] and read.errors[0].category == \
        "OBJECT_NOT_FOUND"
    with pytest.raises(ApiException) as too_many:
        batch.create("contacts", {"inputs": [{"properties": {}} for _ in range(101)]})
    assert too_many.value.status == 400


def test_unique_email_conflict_is_409_with_the_existing_id(portal: HubSpotPortalAdmin) -> None:
    existing = portal.create("contacts", email="dup@example.com")
    response = portal.api("POST", "/crm/v3/objects/contacts", json={"properties": {"email": "DUP@example.com"}})
    body = response.json()
    assert response.status_code == 409 and body["category"] == "CONFLICT"
    assert body["context"]["existingId"] == [existing]


def test_custom_properties_with_enumeration_options_and_unique_values(portal: HubSpotPortalAdmin) -> None:
    properties = portal.sdk().crm.properties.core_api
    properties.create("deals", {"name": "tier", "label": "Tier", "type": "enumeration", "fieldType": "select",
                                "groupName": "dealinformation", "options": [
                                    {"label": "Gold", "value": "gold"}, {"label": "Silver", "value": "silver"}]})
    names = {prop.name: prop for prop in properties.get_all("deals").results}
    assert names["tier"].hubspot_defined is False and [o.value for o in names["tier"].options] == ["gold", "silver"]
    ok = portal.api("POST", "/crm/v3/objects/deals", json={"properties": {"dealname": "D", "tier": "gold"}})
    bad = portal.api("POST", "/crm/v3/objects/deals", json={"properties": {"dealname": "D", "tier": "bronze"}})
    assert ok.status_code == 201 and bad.status_code == 400 and bad.json()["errors"][0]["code"] == "INVALID_OPTION"
    unknown = portal.api("POST", "/crm/v3/objects/deals", json={"properties": {"nope": "x"}})
    assert unknown.json()["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    conflict = portal.api("POST", "/crm/v3/properties/deals", json={
        "name": "tier", "label": "T", "type": "string", "fieldType": "text", "groupName": "g"})
    assert conflict.status_code == 409


def test_associations_v4_default_types_both_directions(portal: HubSpotPortalAdmin) -> None:
    company, contact = portal.create("companies", name="Acme"), portal.create("contacts", email="c@acme.com")
    deal = portal.create("deals", dealname="Big")
    v4 = portal.sdk().crm.associations.v4
    v4.basic_api.create_default("contacts", contact, "companies", company)
    v4.batch_api.create("deals", "contacts", {"inputs": [{"from": {"id": deal}, "to": {"id": contact}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]}]})
    [link] = v4.basic_api.get_page("contacts", contact, "companies").results
    assert (str(link.to_object_id), link.association_types[0].type_id) == (company, 279)
    back = v4.basic_api.get_page("companies", company, "contacts").results
    assert back[0].association_types[0].type_id == 280
    read = v4.batch_api.get_page("contacts", "deals", {"inputs": [{"id": contact}]})
    assert [(str(t.to_object_id), t.association_types[0].type_id) for t in read.results[0].to] == [(deal, 4)]
    call = portal.create("calls", hs_timestamp="2026-01-01T00:00:00Z")
    bad = portal.api("PUT", f"/crm/v4/objects/calls/{call}/associations/companies/{company}",
                     json=[{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}])
    assert bad.status_code == 400


def test_contact_merge_gives_a_new_id_and_old_ids_resolve_to_it(portal: HubSpotPortalAdmin) -> None:
    company = portal.create("companies", name="Acme")
    primary = portal.create("contacts", email="p@example.com", firstname="Pat")
    merged = portal.create("contacts", email="m@example.com", lastname="Merged", jobtitle="CTO")
    portal.link("contacts", merged, "companies", company)
    response = portal.api("POST", "/crm/v3/objects/contacts/merge",
                          json={"primaryObjectId": primary, "objectIdToMerge": merged})
    survivor = response.json()
    assert response.status_code == 200 and survivor["id"] not in (primary, merged)
    props = survivor["properties"]
    assert (props["email"], props["firstname"], props["jobtitle"]) == ("p@example.com", "Pat", "CTO")
    assert sorted(props["hs_merged_object_ids"].split(";")) == sorted([primary, merged])
    api = portal.sdk().crm.objects.basic_api
    for old in (primary, merged):
        assert api.get_by_id("contacts", old).id == survivor["id"]
    links = portal.sdk().crm.associations.v4.basic_api.get_page("contacts", survivor["id"], "companies").results
    assert [str(link.to_object_id) for link in links] == [company]
    assert api.get_page("contacts", archived=True).results == []  # a merge is not a deletion


def test_default_enumeration_options_are_hubspots(portal: HubSpotPortalAdmin) -> None:
    """The options a portal has out of the box: HubSpot's internal values, which write-back must send."""
    properties = portal.sdk().crm.properties.core_api
    industry = properties.get_by_name("companies", "industry")
    assert len(industry.options) == 147 and {"INFORMATION_TECHNOLOGY_AND_SERVICES", "BANKING", "INTERNET",
                                             "COMPUTER_SOFTWARE"} <= {o.value for o in industry.options}
    assert {o.value for o in properties.get_by_name("calls", "hs_call_status").options} == {
        "BUSY", "CALLING_CRM_USER", "CANCELED", "COMPLETED", "CONNECTING", "FAILED", "IN_PROGRESS", "MISSED",
        "NO_ANSWER", "QUEUED", "RINGING"}
    ok = portal.api("POST", "/crm/v3/objects/companies", json={"properties": {
        "name": "Acme", "industry": "INFORMATION_TECHNOLOGY_AND_SERVICES"}})
    missed = portal.api("POST", "/crm/v3/objects/calls", json={"properties": {
        "hs_timestamp": "2026-01-01T00:00:00Z", "hs_call_status": "MISSED", "hs_call_direction": "INBOUND"}})
    assert (ok.status_code, missed.status_code) == (201, 201), (ok.text, missed.text)
    for object_type, name, value in (("companies", "industry", "Technology"),
                                     ("calls", "hs_call_direction", "missed")):
        refused = portal.api("POST", f"/crm/v3/objects/{object_type}", json={"properties": {
            name: value, "hs_timestamp": "2026-01-01T00:00:00Z"} if object_type == "calls" else {name: value}})
        assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == "INVALID_OPTION", refused.text


def test_a_call_cannot_be_created_without_hs_timestamp(portal: HubSpotPortalAdmin) -> None:
    response = portal.api("POST", "/crm/v3/objects/calls", json={"properties": {"hs_call_title": "No time"}})
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "REQUIRED_PROPERTY"
    assert "hs_timestamp" in response.json()["message"]


def test_gdpr_delete_and_purge_remove_records_for_good(portal: HubSpotPortalAdmin) -> None:
    from hubspot.crm.contacts import PublicGdprDeleteInput

    company = portal.create("companies", name="Acme")
    by_id = portal.create("contacts", email="gone@example.com")
    by_email = portal.create("contacts", email="forget@example.com")
    portal.link("contacts", by_id, "companies", company)
    contacts = portal.sdk().crm.contacts.basic_api
    contacts.purge(PublicGdprDeleteInput(object_id=by_id))
    contacts.purge(PublicGdprDeleteInput(object_id="forget@example.com", id_property="email"))
    contacts.purge(PublicGdprDeleteInput(object_id="never@example.com", id_property="email"))  # blocklisted: 204
    api = portal.sdk().crm.objects.basic_api
    for record_id in (by_id, by_email):
        for archived in (False, True):
            with pytest.raises(ApiException) as missing:
                api.get_by_id("contacts", record_id, archived=archived)
            assert missing.value.status == 404
    assert api.get_page("contacts", archived=False).results == api.get_page("contacts", archived=True).results == []
    assert portal.sdk().crm.associations.v4.basic_api.get_page("companies", company, "contacts").results == []
    assert portal.api("POST", "/crm/v3/objects/contacts/gdpr-delete", json={"objectId": by_id}).status_code == 404
    # An archived record past HubSpot's 90 days: the admin purge removes it without an event.
    archived = portal.create("deals", dealname="Old")
    portal.delete("deals", archived)
    portal.admin("POST", "purge", json={"object": "deals", "id": archived})
    assert api.get_page("deals", archived=True).results == []
