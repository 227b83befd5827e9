"""getUpdated / getDeleted through `sf.Lead.updated(...)` and `.deleted(...)` (URL-encoded datetimes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sandbox_support import SalesforceSandbox, error_code
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

T0 = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


def at(sandbox: SalesforceSandbox, moment: datetime) -> None:
    sandbox.admin("POST", "clock/set", json={"now": moment.isoformat(), "freeze": True})


def test_updated_and_deleted_windows(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    at(sandbox, T0 + timedelta(seconds=10))
    early = sf.Lead.create({"LastName": "Early", "Company": "C"})["id"]
    at(sandbox, T0 + timedelta(minutes=5, seconds=30))
    late = sf.Lead.create({"LastName": "Late", "Company": "C"})["id"]
    sandbox.admin("PATCH", f"records/Lead/{early}", json={"Title": "edited in the UI"})  # bumps SystemModstamp
    at(sandbox, T0 + timedelta(minutes=7))
    sf.Lead.delete(late)
    at(sandbox, T0 + timedelta(minutes=30))

    # Seconds are ignored: the window [09:00, 09:05:59] covers minutes 09:00..09:04 only.
    first = sf.Lead.updated(T0, T0 + timedelta(minutes=5, seconds=59))
    assert first == {"ids": [], "latestDateCovered": "2024-06-01T09:05:00.000+0000"}
    second = sf.Lead.updated(T0 + timedelta(minutes=5), T0 + timedelta(hours=1))
    assert second["ids"] == [early]  # `late` is deleted, so it is not reported as updated
    assert second["latestDateCovered"] == "2024-06-01T09:30:00.000+0000"  # capped at "now"

    ist = timezone(timedelta(hours=5, minutes=30))  # the SDK sends +05:30 encoded as %2B05%3A30
    deleted = sf.Lead.deleted(T0.astimezone(ist), (T0 + timedelta(minutes=20)).astimezone(ist))
    assert deleted["deletedRecords"] == [{"id": late, "deletedDate": "2024-06-01T09:07:00.000+0000"}]
    assert deleted["latestDateCovered"] == "2024-06-01T09:20:00.000+0000"
    assert deleted["earliestDateAvailable"] <= "2024-06-01T09:07:00.000+0000"


def test_updated_start_more_than_30_days_back_is_rejected(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    at(sandbox, T0)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Lead.updated(T0 - timedelta(days=31), T0)
    assert error_code(caught.value) == "INVALID_REPLICATION_DATE"
    with pytest.raises(SalesforceMalformedRequest):
        sf.Lead.deleted(T0 - timedelta(days=16), T0)
