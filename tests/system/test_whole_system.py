"""The whole system, as users run it: all six vendors connected at once, on SQLite and on PostgreSQL, over
several passes. Each scenario ends in quiescence, with every CRM agreeing with the store, no dead letter, and
idle passes that write nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from system_support import Sandboxes, System, settings_for


@pytest.fixture
def system(sandboxes: Sandboxes, store_url: str) -> Iterator[System]:
    running = System(sandboxes, settings_for(sandboxes, store_url))
    yield running
    running.close()


def seed_people(sandboxes: Sandboxes) -> dict[str, str]:
    """The people users already have: some in one system, some in several under the same e-mail."""
    sf, hs, zoho = sandboxes["salesforce"], sandboxes["hubspot"], sandboxes["zoho"]
    ids = {
        "ada_sf": sf.create("Lead", FirstName="Ada", LastName="Lovelace", Email="ada@analytical.io",
                            Company="Analytical Engines", Title="CTO", City="London", Phone="+14155550101"),
        "bob_sf": sf.create("Lead", FirstName="Bob", LastName="Brown", Email="bob@brown.example",
                            Company="Brown & Co", State="MA"),
        "ada_hs": hs.create("contacts", email="ada@analytical.io", firstname="Ada", lastname="Lovelace",
                            jobtitle="CTO"),
        "cy_hs": hs.create("contacts", email="cy@cyan.example", firstname="Cy", lastname="Cyan", city="Oslo"),
        "bob_zoho": zoho.create("Leads", First_Name="Bob", Last_Name="Brown", Email="bob@brown.example",
                                Company="Brown & Co"),
        "di_zoho": zoho.create("Leads", First_Name="Di", Last_Name="Dune", Email="di@dune.example",
                               Company="Dune Ltd", Designation="Buyer"),
    }
    sf.call("POST", "seed", {"object": "Lead", "count": 6})
    hs.call("POST", "seed", {"object": "contacts", "count": 6})
    zoho.call("POST", "seed", {"object": "Leads", "count": 6})
    return ids


def test_six_systems_converge_and_rest(system: System, sandboxes: Sandboxes) -> None:
    seed_people(sandboxes)
    system.backfill_all()
    passes = system.settle()
    compared = system.assert_converged()
    system.assert_no_dead_letters()
    system.assert_no_drift()
    print(f"settled in {passes} passes; {compared} CRM records compared; held: "
          f"{[(h['target'], h['last_error']) for h in system.outbox('held')]}")
