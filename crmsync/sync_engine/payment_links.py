"""Payments linked to people and deals, and the rule that closes a deal when its payment succeeds.

Runs as a page hook (inside the page's transaction, before the outbox hook), on the payments the page
changed:
- a payment without a lead is linked to the lead with the customer's e-mail, else phone;
- a payment with a deal reference is linked to the deal it names: a canonical deal id, or any connected
  system's id of that deal (a Salesforce Opportunity Id, a HubSpot deal id ...);
- when the payment's status is one the rule lists (default: succeeded), the linked deal's stage becomes the
  won stage, as a patch from the payment's connection at the payment time, through the merge policy. The
  change is logged and queued like any other, so write-back moves the deal in every CRM. A refund changes
  the payment only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Table, and_, select, update

from crmsync.config.policy import MergePolicy
from crmsync.store.models import ChangeLog, Deal, Lead, Payment
from crmsync.sync_engine.identity import REF
from crmsync.sync_engine.ingest import PageResult
from crmsync.sync_engine.merge import CompiledPolicy, apply_outcome, merge_patch
from crmsync.sync_engine.records import CanonicalPatch, SourceRecord
from crmsync.sync_engine.state import load_states, write_states

PAYMENT: Table = Payment.__table__  # type: ignore[assignment]
LEAD: Table = Lead.__table__  # type: ignore[assignment]
DEAL: Table = Deal.__table__  # type: ignore[assignment]
CHANGE_LOG: Table = ChangeLog.__table__  # type: ignore[assignment]


class PaymentRules(BaseModel):
    """`payments:` in crmsync.yaml."""

    model_config = ConfigDict(extra="forbid")
    close_deal_on: list[str] = Field(default_factory=lambda: ["succeeded"])  # statuses that win the deal
    won_stage: str = "closed_won"
    link_leads: bool = True


def payment_hook(rules: PaymentRules, policy: MergePolicy, run_id: str | None) -> Any:
    compiled = CompiledPolicy(policy)

    def hook(conn: Connection, result: PageResult, _records: Iterable[SourceRecord]) -> None:
        touched = {c["canonical_id"]: c["system"] for c in result.changes
                   if c["entity"] == "payment" and c["kind"] in ("create", "update")}
        for payment_id, source in touched.items():
            row = conn.execute(select(PAYMENT).where(PAYMENT.c.id == payment_id)).mappings().first()
            if row is None:
                continue
            links = _links(conn, row, rules)
            if links:
                conn.execute(update(PAYMENT).where(PAYMENT.c.id == payment_id).values(**links))
                result.counts["linked"] += 1
            deal_id = links.get("deal_id") or row["deal_id"]
            if deal_id and row["status"] in rules.close_deal_on:
                moment = row["paid_at"] or datetime.now(UTC)
                if _win(conn, result, compiled, deal_id, source, payment_id, moment, rules.won_stage, run_id):
                    result.counts["deals_won"] += 1

    return hook


def _links(conn: Connection, payment: Any, rules: PaymentRules) -> dict[str, str]:
    links: dict[str, str] = {}
    if payment["lead_id"] is None and rules.link_leads:
        for column, value in (("email", payment["customer_email"]), ("phone", payment["customer_phone"])):
            if value:
                lead = conn.execute(select(LEAD.c.id).where(and_(LEAD.c[column] == value, LEAD.c.merged_into.is_(None),
                                                                LEAD.c.deleted_at.is_(None))).limit(2)).scalars().all()
                if len(lead) == 1:  # two people with one address: leave it for a person to decide
                    links["lead_id"] = lead[0]
                    break
    reference = payment["deal_reference"]
    if payment["deal_id"] is None and reference:
        deal = conn.execute(select(DEAL.c.id).where(DEAL.c.id == reference)).scalar()
        if deal is None:
            deal = conn.execute(select(REF.c.canonical_id).where(and_(
                REF.c.entity == "deal", REF.c.external_id == reference, REF.c.deleted_at.is_(None)))).scalar()
        if deal is not None:
            links["deal_id"] = deal
    return links


def _win(conn: Connection, result: PageResult, policy: CompiledPolicy, deal_id: str, source: str, payment_id: str,
         moment: datetime, stage: str, run_id: str | None) -> bool:
    states = load_states(conn, "deal", [deal_id])
    state = states.get(deal_id)
    if state is None or state.deleted_at is not None or state.values.get("stage") == stage:
        return False
    patch = CanonicalPatch("deal", source, "payment", payment_id, moment, {"stage": stage})
    outcome = merge_patch("deal", state.values, state.provenance, patch, policy, run_id)
    if not outcome.changes:
        return False  # the policy kept a later stage (a CRM moved the deal after the payment)
    apply_outcome(state.values, state.provenance, outcome)
    state.dirty, state.provenance_dirty = True, True
    now = datetime.now(UTC)
    write_states(conn, "deal", states, now)
    row = {"entity": "deal", "canonical_id": deal_id, "kind": "update", "system": source, "run_id": run_id,
           "changed_at": now, "changes": {name: list(change) for name, change in outcome.changes.items()}}
    conn.execute(CHANGE_LOG.insert(), [row])
    result.changes.append(row)  # the outbox hook, next, queues the deal for every CRM
    return True
