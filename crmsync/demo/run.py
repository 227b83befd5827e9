"""The demo: overlapping people from Salesforce, HubSpot and Zoho, merged by policy into one SQLite store."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, select

from crmsync.config.policy import MergePolicy
from crmsync.errors import CrmsyncError
from crmsync.mappings.loader import load_mappings
from crmsync.store import db
from crmsync.store.models import Conflict, ExternalRef, Lead, RecordError
from crmsync.store.provenance import unpack
from crmsync.sync_engine.identity import new_id
from crmsync.sync_engine.ingest import Ingestor, PageResult
from crmsync.sync_engine.records import SourceRecord

DATA_DIR = Path(__file__).resolve().parent / "data"
ID_FIELDS = {"salesforce": "Id", "hubspot": "id", "zoho": "id"}

# Salesforce is trusted most for e-mail; lead status is for a person to decide; tags accumulate.
DEMO_POLICY = MergePolicy.model_validate({
    "system_priority": ["salesforce", "hubspot", "zoho"],
    "entities": {"lead": {"email": "priority", "lead_status": "manual", "tags": "union"}},
})


def bundled_records(system: str) -> list[SourceRecord]:
    items = json.loads((DATA_DIR / f"{system}.json").read_text(encoding="utf-8"))
    return [
        SourceRecord(system=system, object=item["object"], external_id=str(item["record"][ID_FIELDS[system]]),
                     modified_at=datetime.fromisoformat(item["modified_at"]), payload=item["record"])
        for item in items
    ]


def salesforce_sandbox_pages(console: Console) -> list[list[SourceRecord]]:
    """The bundled Salesforce people, created in a sandbox org as its users would (at their own times on the
    sandbox clock), then read back through the Salesforce connector over HTTPS, as a real sync does."""
    from crmsync.connectors.salesforce import SalesforceConnector, SalesforceSettings
    from crmsync.sandbox import SandboxRunner

    items = json.loads((DATA_DIR / "salesforce.json").read_text(encoding="utf-8"))
    with SandboxRunner(["salesforce"]) as runner:
        endpoint = runner.endpoints["salesforce"]
        with endpoint.requests_session() as admin:

            def as_user(path: str, body: dict[str, Any]) -> None:
                response = admin.post(f"{endpoint.base_url}/__sandbox/{path}", json=body)
                if response.status_code >= 300:
                    raise CrmsyncError(f"the demo's sandbox org refused {path}: {response.text}")

            # The org's admin adds the custom field the demo people use, as a Salesforce admin would.
            as_user("fields", {"object": "Lead", "name": "Rating__c", "label": "Rating"})
            for item in items:
                moment = datetime.fromisoformat(item["modified_at"]).isoformat()
                as_user("clock/set", {"now": moment, "freeze": True})
                as_user(f"records/{item['object']}", {k: v for k, v in item["record"].items() if k != "Id"})
        credentials = endpoint.credentials
        connector = SalesforceConnector(SalesforceSettings(
            login_url=endpoint.base_url, client_id=credentials["client_id"],
            client_secret=credentials["client_secret"], username=credentials["username"],
            password=credentials["password"], ca_bundle=endpoint.ca_bundle, lookback_seconds=0,
        ), name="salesforce")
        try:
            pages = [page.records for page in connector.read("Lead", None)]
        finally:
            connector.close()
    console.print(f"Salesforce sandbox org at {endpoint.base_url}: read {sum(map(len, pages))} leads through "
                  "simple-salesforce over HTTPS.")
    return pages


def run_demo(database: Path, console: Console) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    ingestor = Ingestor(engine, load_mappings(), DEMO_POLICY)
    console.rule("[bold]crmsync demo[/bold]: three systems, one canonical store")
    console.print("HubSpot and Zoho still come from bundled records until their sandbox connectors land.")
    summary = Table("run", "system", "read", "created", "updated", "unchanged", "conflicts", "failed",
                    title="Ingest runs (mapping -> identity -> merge -> store)")
    salesforce = [record for page in salesforce_sandbox_pages(console) for record in page]
    for system in ("salesforce", "hubspot", "zoho", "hubspot"):
        records = salesforce if system == "salesforce" else bundled_records(system)
        result = ingestor.ingest_page(records, run_id=new_id())
        _summary_row(summary, system, result)
    console.print(summary)
    console.print("The second HubSpot run re-reads the same records: nothing changes (content hash per ref).\n")
    _show_leads(engine, console)
    _show_conflicts(engine, console)
    _show_errors(engine, console)
    console.print(f"\nStore: {database}. Try:")
    console.print(f"        CRMSYNC_DATABASE_URL={url} crmsync records show --email ada@analytical.io")
    console.print(f"        CRMSYNC_DATABASE_URL={url} crmsync conflicts list")


def _summary_row(table: Table, system: str, result: PageResult) -> None:
    c = result.counts
    table.add_row(str(table.row_count + 1), system, *(str(c[k]) for k in (
        "read", "created", "updated", "unchanged", "conflicts", "failed")))


def _show_leads(engine: Engine, console: Console) -> None:
    with engine.connect() as conn:
        leads = conn.execute(select(Lead).where(Lead.merged_into.is_(None)).order_by(Lead.email)).mappings().all()  # type: ignore[union-attr,arg-type]
        refs: dict[str, list[str]] = {}
        for ref in conn.execute(select(ExternalRef).where(ExternalRef.entity == "lead")).mappings():
            refs.setdefault(ref["canonical_id"], []).append(f"{ref['system']}:{ref['external_id']}")
    for lead in leads:
        name = " ".join(p for p in (lead["first_name"], lead["last_name"]) if p)
        table = Table("field", "value", "from", "source time", title=f"{name} <{lead['email'] or 'no e-mail'}>",
                      caption="linked: " + ", ".join(refs.get(lead["id"], [])), title_justify="left")
        prov = unpack(lead["provenance"])
        for field in ("email", "phone", "first_name", "last_name", "title", "company_name", "lead_status",
                      "lifecycle_stage", "city", "tags"):
            value = lead[field]
            if value not in (None, []):
                system, ts, _run = prov.get(field, ["", "", ""])
                table.add_row(field, _show(value), system, ts[:19])
        for key, value in (lead["custom"] or {}).items():
            system, ts, _run = prov.get(f"custom.{key}", ["", "", ""])
            table.add_row(f"custom.{key}", _show(value), system, ts[:19])
        console.print(table)


def _show(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def _show_conflicts(engine: Engine, console: Console) -> None:
    with engine.connect() as conn:
        rows = conn.execute(select(Conflict).order_by(Conflict.id)).mappings().all()  # type: ignore[arg-type]
    table = Table("id", "kind", "record", "field", "candidates", title="Conflicts opened (crmsync conflicts list)")
    for row in rows:
        if row["kind"] == "identity":
            candidates = ", ".join(c["canonical_id"][:8] + ("(new)" if c.get("new") else "") for c in row["candidates"])
        else:
            candidates = ", ".join(f"{c['system']}={c['value']!r}" for c in row["candidates"])
        table.add_row(str(row["id"]), row["kind"], row["canonical_id"][:8], row["field"] or "", candidates)
    console.print(table)


def _show_errors(engine: Engine, console: Console) -> None:
    with engine.connect() as conn:
        rows = conn.execute(select(RecordError)).mappings().all()
    for row in rows:
        console.print(f"[yellow]record not applied[/yellow] {row['system']} {row['object']} {row['external_id']}: "
                      f"{row['error']} (kept in record_error with its payload)", highlight=False)
