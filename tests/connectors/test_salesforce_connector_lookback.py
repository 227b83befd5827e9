"""The incremental lookback is anchored to the time each query ran (the org's `Date` header), not to the last
change: once a query has run `lookback_seconds` after the last change, idle passes read nothing, while a
write that becomes visible late is still caught, and nothing is delivered twice except inside the lookback."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from salesforce_connector_support import RowsServed, SalesforceOrgAdmin, ids_of

from crmsync.connectors.salesforce import SalesforceConnector
from crmsync.connectors.salesforce.cursor import parse_salesforce_datetime

LOOKBACK = 60
SLACK = timedelta(seconds=2)  # the Date header's whole seconds, less the request's round trip


class Passes:
    """Incremental passes of one connector over Lead, as a scheduler runs them: each from the last cursor.

    Checks as it goes that a record is delivered again only when it was stamped within the lookback of the
    query before (the re-read that catches late commits), never later than that."""

    def __init__(self, org: SalesforceOrgAdmin, connector: SalesforceConnector) -> None:
        self.org, self.connector = org, connector
        self.rows = RowsServed(connector)
        self.cursor: Mapping[str, Any] | None = None
        self.delivered: Counter[tuple[str, datetime]] = Counter()
        self.last_query: datetime | None = None

    def run(self) -> tuple[int, list[str]]:
        """One pass: (rows the org sent, ids delivered)."""
        before, now = self.rows.total, datetime.fromisoformat(self.org.admin("GET", "clock")["now"])
        pages = list(self.connector.read("Lead", self.cursor))
        for record in (record for page in pages for record in page.records):
            key = (record.external_id, parse_salesforce_datetime(record.payload["SystemModstamp"]))
            if key in self.delivered:
                assert self.last_query is not None and key[1] >= self.last_query - timedelta(seconds=LOOKBACK) - SLACK
            self.delivered[key] += 1
        self.cursor, self.last_query = pages[-1].cursor, now
        return self.rows.total - before, ids_of(pages)


def test_idle_passes_after_a_bulk_load_read_nothing_once_the_lookback_has_passed(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector]
) -> None:
    passes = Passes(org, make_connector(lookback_seconds=LOOKBACK, page_size=200))
    org.admin("POST", "clock/freeze")
    org.seed("Lead", 500)  # a bulk load: 500 rows, one SystemModstamp
    read, ids = passes.run()
    assert (read, len(ids)) == (500, 500)
    per_pass = []
    for _ in range(6):  # a scheduled sync every 45 s, nothing changing in the org
        org.advance(45)
        read, ids = passes.run()
        per_pass.append((read, len(ids)))
    # The rows stamped within the lookback of a query are read again (to catch late commits) by the next two
    # passes; after that, nothing. Anchored to the last change instead, every pass re-read all 500 forever.
    assert per_pass == [(500, 0), (500, 0), (0, 0), (0, 0), (0, 0), (0, 0)]
    assert set(passes.delivered.values()) == {1}


def test_a_late_visible_write_is_caught_and_nothing_is_delivered_twice_outside_the_lookback(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector]
) -> None:
    passes = Passes(org, make_connector(lookback_seconds=LOOKBACK, page_size=200))
    org.admin("POST", "clock/freeze")
    org.seed("Lead", 300)
    passes.run()
    for _ in range(3):
        org.advance(45)
        read, _ = passes.run()
    assert read == 0  # settled: idle passes cost nothing

    seeded = [row["Id"] for row in org.records("Lead")]
    org.advance(5)
    org.update("Lead", seeded[0], Title="First")
    org.advance(1)
    assert passes.run()[1] == [seeded[0]]

    # A transaction that began 20 s ago commits only now: its SystemModstamp is older than the last query.
    org.advance(-20)
    late = org.create("Lead", LastName="Late", Company="C")
    org.advance(20)
    assert late in passes.run()[1]  # caught: the lookback reaches back from when the last query ran

    for _ in range(4):
        org.advance(45)
        read, _ = passes.run()
    assert read == 0
    assert {record_id for record_id, _ in passes.delivered} == {*seeded, late}


def test_without_lookback_idle_passes_read_nothing_after_the_first(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector]
) -> None:
    passes = Passes(org, make_connector(lookback_seconds=0, page_size=200))
    org.admin("POST", "clock/freeze")
    org.seed("Lead", 450)  # the boundary instant is shared by every row
    passes.run()
    org.advance(2)
    reads = []
    for _ in range(3):
        org.advance(30)
        reads.append(passes.run()[0])
    # The org's Date has whole seconds, so the load's second is read once more; anchored to the watermark,
    # every pass re-read the 450 tied rows.
    assert reads == [450, 0, 0]
