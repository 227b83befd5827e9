"""`crmsync conflicts list | show`: filters, paging, and identity candidates a person can tell apart.
On SQLite and PostgreSQL."""

from __future__ import annotations

import re


def ids_listed(output: str) -> list[int]:
    return [int(match) for match in re.findall(r"^│ (\d+) +│", output, flags=re.MULTILINE)]


def test_filters_by_kind_entity_and_a_candidates_system(seeded, cli) -> None:
    everything = cli("conflicts", "list")
    assert everything.exit_code == 0, everything.output
    assert len(ids_listed(everything.stdout)) == 3 and "conflicts 1-3 of 3 (id order)" in everything.stdout
    identity = cli("conflicts", "list", "--kind", "identity")
    assert len(ids_listed(identity.stdout)) == 2 and "field lead" not in identity.stdout
    field = cli("conflicts", "list", "--kind", "field")
    assert len(ids_listed(field.stdout)) == 1 and "field lead.lead_status" in field.stdout
    assert "salesforce='working'" in field.stdout and "hubspot='qualified'" in field.stdout
    assert cli("conflicts", "list", "--entity", "deal").stdout.strip() == "no conflicts"
    # Salesforce holds both Alan Turings and sent one lead_status; HubSpot holds A. Turing (whose arrival opened
    # the second identity conflict) and sent the other lead_status; Zoho has no candidate anywhere.
    listed = {system: cli("conflicts", "list", "--system", system) for system in ("salesforce", "hubspot", "zoho")}
    assert all(result.exit_code == 0 for result in listed.values()), [r.output for r in listed.values()]
    all_ids = ids_listed(everything.stdout)
    assert ids_listed(listed["salesforce"].stdout) == all_ids
    assert ids_listed(listed["hubspot"].stdout) == all_ids[1:]
    assert ids_listed(listed["zoho"].stdout) == [] and "none of 0" not in listed["zoho"].stdout
    bad = cli("conflicts", "list", "--kind", "value")
    assert bad.exit_code == 1 and bad.lines() == ["error: --kind 'value': use field or identity"]


def test_paging_in_id_order(seeded, cli) -> None:
    all_ids = ids_listed(cli("conflicts", "list").stdout)
    assert all_ids == sorted(all_ids)
    first = cli("conflicts", "list", "--limit", "2")
    assert ids_listed(first.stdout) == all_ids[:2] and "conflicts 1-2 of 3 (id order); next: --page 2" in first.stdout
    second = cli("conflicts", "list", "--limit", "2", "--page", "2")
    assert ids_listed(second.stdout) == all_ids[2:] and "next:" not in second.stdout
    by_offset = cli("conflicts", "list", "--limit", "1", "--offset", "1")
    assert ids_listed(by_offset.stdout) == all_ids[1:2] and "next: --offset 2" in by_offset.stdout
    filtered = cli("conflicts", "list", "--system", "hubspot", "--limit", "1", "--page", "2")
    assert ids_listed(filtered.stdout) == all_ids[2:] and "conflicts 2-2 of 2" in filtered.stdout
    both = cli("conflicts", "list", "--offset", "1", "--page", "2")
    assert both.exit_code == 1 and "give --offset or --page, not both" in both.stderr
    assert "--help" not in both.stderr


def test_identity_candidates_show_who_they_are_and_where_they_come_from(seeded, cli) -> None:
    listed = cli("conflicts", "list", "--kind", "identity").stdout
    row = next(line for line in listed.splitlines() if line.startswith("│") and "A. Turing" in line.split("│")[3])
    conflict_id = row.split("│")[1].strip()
    # Each candidate with what tells it apart and its records in each system.
    assert "• Alan Turing, alan@bletchley.uk, +442079460958, Bletchley Park [salesforce:Lead/00Q000000000003AAA]" \
        in listed, listed
    assert "• A. Turing, +442079460958 (new) [hubspot:contacts/103]" in listed
    shown = cli("conflicts", "show", conflict_id)
    assert shown.exit_code == 0, shown.output
    rows = {line.split("│")[2].strip(): [cell.strip() for cell in line.split("│")[3:-1]]
            for line in shown.stdout.splitlines() if line.startswith("│") and line.split("│")[2].strip()}
    # name -> e-mail, phone, company, source ids
    assert rows["Alan Turing"][:3] == ["alan@bletchley.uk", "+442079460958", "Bletchley Park"]
    assert rows["Alan Turing"][3].startswith("salesforce:Lead/00Q000000000003AAA")
    assert rows["A. Turing"][1] == "+442079460958" and rows["A. Turing"][3].startswith("hubspot:contacts/")
    assert f"resolve with: crmsync conflicts resolve {conflict_id} --take <id>" in shown.stdout
    hints_help = cli("conflicts", "list", "--help").stdout
    assert "id order, oldest first" in " ".join(hints_help.split())


def test_a_field_conflict_shows_each_systems_value_and_when(seeded, cli) -> None:
    listed = cli("conflicts", "list", "--kind", "field").stdout
    conflict_id = str(ids_listed(listed)[0])
    shown = cli("conflicts", "show", conflict_id)
    assert shown.exit_code == 0, shown.output
    assert f"conflict {conflict_id}: field on lead" in shown.stdout
    assert "(Ada Lovelace <ada@analytical.io>), field lead_status [open]" in shown.stdout
    assert re.search(r"│ salesforce +│ 'working' +│ 2026-11-01T09:00:00", shown.stdout), shown.stdout
    assert re.search(r"│ hubspot +│ 'qualified' +│ 2026-11-02T10:00:00", shown.stdout), shown.stdout
    assert f"resolve with: crmsync conflicts resolve {conflict_id} --take <system>" in shown.stdout
    assert cli("conflicts", "resolve", conflict_id, "--take", "hubspot").exit_code == 0
    resolved = cli("conflicts", "show", conflict_id)
    assert "[resolved: took hubspot]" in resolved.stdout and "resolve with" not in resolved.stdout
    assert ids_listed(cli("conflicts", "list", "--kind", "field").stdout) == []
    assert ids_listed(cli("conflicts", "list", "--kind", "field", "--all").stdout) == [int(conflict_id)]
