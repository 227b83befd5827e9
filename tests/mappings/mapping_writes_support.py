"""Canonical records of every shape write-back meets, and a push through a built-in mapping and a real connector:
each record is either written by the vendor or held up front (RecordNotWritable), never refused by the vendor."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from vendor_options import CALL_DIRECTIONS, DEAL_STAGES, INDUSTRIES, LEAD_STATUSES

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.base import Connector, WriteItem
from crmsync.connectors.registry import build_connector
from crmsync.errors import RecordNotWritable
from crmsync.mappings.loader import MappingSet

WHEN = datetime(2024, 5, 1, 17, 0, tzinfo=UTC)
Values = dict[str, Any]

LEADS: dict[str, Values] = {
    "lead-full": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@analytical.example",
                  "phone": "+14155550101", "title": "Countess", "company_name": "Analytical Engines",
                  "lead_status": "working", "lifecycle_stage": "lead", "source": "Web", "street": "12 St James's Sq",
                  "city": "London", "state": "LDN", "postal_code": "SW1Y 4JH", "country": "GB"},
    "lead-email-only": {"email": "grace@cobol.example"},
    "lead-phone-only": {"phone": "+12125550123"},
    "lead-no-company": {"first_name": "Alan", "last_name": "Turing", "email": "alan@bletchley.example"},
    **{f"lead-status-{status}": {"last_name": f"Status {status}", "email": f"{status}@status.example",
                                 "lead_status": status} for status in LEAD_STATUSES},
    "lead-status-custom": {"last_name": "Custom", "email": "custom@status.example", "lead_status": "someday"},
}
COMPANIES: dict[str, Values] = {
    "company-full": {"name": "Analytical Engines", "domain": "analytical.example", "phone": "+442079460000",
                     "industry": "technology", "street": "1 Main St", "city": "London", "country": "GB"},
    "company-nameless": {"domain": "nameless.example"},
    **{f"company-{industry}": {"name": f"Industry {industry}", "industry": industry} for industry in INDUSTRIES},
}
DEALS: dict[str, Values] = {
    **{f"deal-{stage}": {"name": f"Deal {stage}", "stage": stage, "amount": Decimal("1200.50"), "currency": "USD",
                         "close_date": date(2024, 6, 30)} for stage in DEAL_STAGES},
    "deal-name-only": {"name": "Just a name"},
    "deal-no-close-date": {"name": "Open ended", "stage": "proposal"},
}
CALL: Values = {"kind": "call", "subject": "Inbound Call", "direction": "inbound", "started_at": WHEN,
                "duration_s": 125, "disposition": "No Answer", "from_number": "+14155550101",
                "to_number": "+18005550199", "notes": "asked for a quote", "agent": "jdoe@acme.example",
                "campaign": "Sales Inbound", "recording_url": "https://recordings.example/1.wav"}
CALLS: dict[str, Values] = {
    "call-with-person": {**CALL, "lead_id": "lead-full"},
    "call-without-person": dict(CALL),
    "call-person-not-there": {**CALL, "lead_id": "lead-phone-only"},
    "call-without-start": {**CALL, "lead_id": "lead-full", "started_at": None},
    "call-minimal": {"kind": "call", "lead_id": "lead-full"},
    **{f"call-{direction}": {**CALL, "direction": direction, "lead_id": "lead-full"} for direction in CALL_DIRECTIONS},
}


@dataclass
class Pushed:
    """Per canonical id: the vendor's id of what was written, or why it was held."""

    written: dict[str, str] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)

    def ref(self, canonical_id: str) -> str | None:
        return self.written.get(canonical_id)


def push(connector: Connector, mappings: MappingSet, system: str, obj: str, records: Mapping[str, Values],
         resolve: Callable[[str, str], str | None] | None = None) -> Pushed:
    """Create every record in `obj` the way write-back does: the built-in mapping's payload for a new record,
    then the connector's write. A record the vendor refuses fails the test, naming the vendor's error."""
    mapper = mappings.get(system, obj)
    pushed, items = Pushed(), []
    for canonical_id, values in records.items():
        try:
            payload = mapper.to_payload({k: v for k, v in values.items() if v is not None}, resolve, creating=True)
        except RecordNotWritable as exc:
            pushed.held[canonical_id] = str(exc)
            continue
        items.append(WriteItem(canonical_id, payload))
    results = connector.write(obj, items) if items else []
    refused = {r.canonical_id: r.error for r in results if not r.ok}
    assert refused == {}, f"{system} refused {obj} records the mapping let through: {refused}"
    pushed.written = {r.canonical_id: str(r.external_id) for r in results}
    return pushed


@contextmanager
def connected(config: Mapping[str, Any]) -> Iterator[Connector]:
    connector = build_connector(ConnectionConfig.model_validate(dict(config)))
    try:
        yield connector
    finally:
        connector.close()


def held_for(pushed: Pushed, fragment: str) -> set[str]:
    return {cid for cid, why in pushed.held.items() if fragment in why}
