"""crmsync as users run it with every vendor connected: six sandboxes, one connection each, one store.

`Sandboxes` holds the six emulators and their admin APIs; `System` is crmsync on one store with a connection to
each, run pass by pass as `crmsync sync --once` runs (every connection's incremental read, then write-back),
plus the invariants the whole must keep: every CRM holding a person agrees with the store on every field it
receives, nothing is a dead letter, and passes with nothing edited anywhere write nothing.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import hmac
import json
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from sqlalchemy import func, select

from crmsync.config.settings import Settings
from crmsync.connectors.base import TransientError
from crmsync.receiver.processor import wait_until_empty
from crmsync.receiver.server import BackgroundServer, Receiver
from crmsync.sandbox import SandboxEndpoint, SandboxRunner
from crmsync.store import db
from crmsync.store.models import ENTITY_MODELS, ChangeLog, ExternalRef, OutboxItem
from crmsync.store.tokens import NoTokenStore
from crmsync.sync_engine.records import SourceRecord
from crmsync.sync_engine.runner import SyncRunner
from crmsync.sync_engine.seen import same_value
from crmsync.sync_engine.state import load_states
from crmsync.sync_engine.workspace import Workspace
from crmsync.sync_engine.writeback import OutboxDrainer

VENDORS = ("salesforce", "hubspot", "zoho", "stripe", "razorpay", "five9")
CRMS = ("salesforce", "hubspot", "zoho")
OBJECTS: dict[str, dict[str, str]] = {
    "salesforce": {"Account": "both", "Lead": "both", "Opportunity": "both", "Task": "both"},
    "hubspot": {"companies": "both", "contacts": "both", "deals": "both", "calls": "both"},
    "zoho": {"Accounts": "both", "Leads": "both", "Deals": "both", "Calls": "both"},
    "stripe": {"customers": "pull", "payment_intents": "pull"},
    "razorpay": {"customers": "pull", "payments": "pull"},
    "five9": {"calls": "pull"},
}
# Quick retries: 429/5xx storms are part of the scenarios and must not make them slow.
FAST = {"retry_initial_seconds": 0.001, "retry_max_seconds": 0.01}
EMULATOR_OPTIONS: dict[str, dict[str, Any]] = {
    "hubspot": {"search_per_second": 100_000, "rate_limit_per_interval": 100_000},
    "five9": {"time_zone": "America/Los_Angeles"},
}
WEB_CONNECTOR_SECRET = "system-test-web-connector-secret"


@dataclass
class Admin:
    """One emulator's admin API (`/__sandbox/...`): acts as the vendor's users and admins."""

    vendor: str
    endpoint: SandboxEndpoint
    http: requests.Session

    def call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"{self.endpoint.base_url}/__sandbox/{path}", json=body)
        assert response.status_code < 300, f"{self.vendor} {method} {path}: {response.text[:500]}"
        return response.json() if response.content else None

    def create(self, obj: str, **fields: Any) -> str:
        created = self.call("POST", f"records/{obj}", fields)
        return str(created.get("id") or created.get("Id"))

    def update(self, obj: str, record_id: str, **fields: Any) -> None:
        self.call("PATCH", f"records/{obj}/{record_id}", fields)

    def delete(self, obj: str, record_id: str) -> None:
        self.call("DELETE", f"records/{obj}/{record_id}")

    def records(self, obj: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"records/{obj}"))

    def advance(self, seconds: float) -> None:
        self.call("POST", "clock/advance", {"seconds": seconds})

    def fault(self, kind: str, count: int, path: str = "*") -> None:
        self.call("POST", "faults", {"kind": kind, "count": count, "path": path})


class Sandboxes:
    """The six emulators, started once for a test module."""

    def __init__(self, runner: SandboxRunner) -> None:
        self.runner = runner
        self.admins = {vendor: Admin(vendor, endpoint, endpoint.requests_session())
                       for vendor, endpoint in runner.endpoints.items()}

    def __getitem__(self, vendor: str) -> Admin:
        return self.admins[vendor]

    def reset(self) -> None:
        for admin in self.admins.values():
            admin.call("DELETE", "faults")
            admin.call("DELETE", "listeners")
            admin.call("POST", "reset")
        self["salesforce"].call("POST", "fields", {"object": "Lead", "name": "Rating__c", "label": "Rating"})

    def advance(self, seconds: float = 2.0) -> None:
        """Every system's clock moves on: what users do next happens after what they did before. Five9's stays
        with the wall clock: crmsync asks its reports for windows up to its own time, as it must of Five9."""
        for admin in self.admins.values():
            if admin.vendor != "five9":
                admin.advance(seconds)

    def close(self) -> None:
        for admin in self.admins.values():
            admin.http.close()


@contextmanager
def six_sandboxes() -> Iterator[Sandboxes]:
    with SandboxRunner(list(VENDORS), options=EMULATOR_OPTIONS) as runner:
        sandboxes = Sandboxes(runner)
        try:
            yield sandboxes
        finally:
            sandboxes.close()
            gc.collect()  # responses kept alive by tracebacks pin client sockets; the emulators wait for them


def connections(sandboxes: Sandboxes) -> list[dict[str, Any]]:
    """crmsync.yaml `connections:`, one per vendor, as a user writes them from `crmsync sandbox up`."""
    found = []
    for vendor in VENDORS:
        endpoint = sandboxes[vendor].endpoint
        secrets = endpoint.credentials
        credentials, base_url, options = {}, endpoint.base_url, dict(FAST)
        if vendor == "salesforce":
            credentials = {k: secrets[k] for k in ("client_id", "client_secret", "username", "password")}
        elif vendor == "hubspot":
            credentials = {"access_token": secrets["private_app_token"], "client_secret": secrets["client_secret"]}
        elif vendor == "zoho":
            credentials = {k: secrets[k] for k in ("client_id", "client_secret", "refresh_token")}
            base_url = secrets["accounts_url"]
        elif vendor == "stripe":
            credentials = {"api_key": secrets["api_key"]}
        elif vendor == "razorpay":
            credentials = {k: secrets[k] for k in ("key_id", "key_secret")}
        else:
            credentials = {"username": secrets["username"], "password": secrets["password"],
                           "web_connector_secret": WEB_CONNECTOR_SECRET}
            options["time_zone"] = secrets["time_zone"]
        found.append({"name": vendor, "system": vendor, "base_url": base_url, "ca_bundle": endpoint.ca_bundle,
                      "credentials": credentials, "objects": OBJECTS[vendor], "options": options})
    return found


def settings_for(sandboxes: Sandboxes, database_url: str, **overrides: Any) -> Settings:
    return Settings.model_validate({
        "database_url": database_url,
        "outbox": {"retry_initial_seconds": 0, "retry_max_seconds": 0, "max_attempts": 5},
        "connections": connections(sandboxes),
        **overrides,
    })


@dataclass
class PassReport:
    read: int
    queued: int
    pushed: int
    dead: int
    held: int


class System:
    """crmsync on one store with every vendor connected, run pass by pass."""

    def __init__(self, sandboxes: Sandboxes, settings: Settings) -> None:
        self.sandboxes = sandboxes
        engine = db.make_engine(settings.database_url)
        db.upgrade(engine)
        self.workspace = Workspace(settings, engine, token_store=NoTokenStore())
        self.engine = engine
        self.passes: list[PassReport] = []
        self.failed_runs = 0

    def close(self) -> None:
        self.workspace.close()
        self.engine.dispose()

    # -- running it -----------------------------------------------------------------------------------------
    def backfill_all(self) -> None:
        for vendor in VENDORS:
            summary = SyncRunner(self.workspace, vendor).backfill()
            assert summary.status == "ok", f"backfill of {vendor}: {summary.error}"
        self.drain()

    def drain(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for target_counts in OutboxDrainer(self.workspace).drain().values():
            counts.update(target_counts)
        return counts

    def one_pass(self, confirm_deletes: bool = False, storm: bool = False) -> PassReport:
        """`crmsync sync --once`: every connection's incremental pass, then write-back. In a `storm` (429/5xx
        bursts longer than a connector's retries) a run may fail; the next pass goes on from its checkpoint."""
        read = queued = 0
        for vendor in VENDORS:
            try:
                summary = SyncRunner(self.workspace, vendor, confirm_deletes=confirm_deletes).incremental()
            except TransientError:
                assert storm, f"incremental of {vendor} failed outside a storm"
                self.failed_runs += 1
                continue
            assert summary.status == "ok", f"incremental of {vendor}: {summary.status} {summary.error}"
            read += summary.totals()["read"]
            queued += summary.totals()["queued"]
        pushed = self.drain()
        report = PassReport(read, queued, pushed["pushed"] + pushed["deleted"], pushed["dead"], pushed["held"])
        self.passes.append(report)
        return report

    def settle(self, max_passes: int = 6, storm: bool = False) -> int:
        """Passes until one queues and pushes nothing (quiescence); returns how many it took."""
        for number in range(1, max_passes + 1):
            self.sandboxes.advance()
            failed = self.failed_runs
            report = self.one_pass(storm=storm)
            if not report.queued and not report.pushed and self.failed_runs == failed:
                return number
        raise AssertionError(f"no quiescence after {max_passes} passes: {self.passes[-max_passes:]}")

    @contextmanager
    def receiver(self) -> Iterator[tuple[Receiver, str]]:
        """`crmsync serve`'s receiver on loopback (its scheduler left out: the test runs the passes)."""
        receiver = Receiver(self.workspace, with_scheduler=False)
        with BackgroundServer(receiver.app) as server:
            receiver.start()
            try:
                yield receiver, server.url
            finally:
                receiver.stop()

    @staticmethod
    def process_inbox(receiver: Receiver) -> None:
        assert wait_until_empty(receiver.processor, timeout=30), "the inbox was not emptied"

    # -- the invariants -------------------------------------------------------------------------------------
    def figures(self) -> str:
        """One line for the record: canonical records, passes, pushes, what is held, dead letters."""
        with self.engine.connect() as conn:
            records = {entity: int(conn.execute(select(func.count()).select_from(model)).scalar_one())
                       for entity, model in ENTITY_MODELS.items()}
        pushed = sum(p.pushed for p in self.passes)
        return (f"{self.engine.dialect.name}: records {records}; passes {len(self.passes)}, read "
                f"{sum(p.read for p in self.passes)}, pushed {pushed}, failed runs {self.failed_runs}; "
                f"held {sorted((h['target'], h['entity']) for h in self.outbox('held'))}; "
                f"dead letters {len(self.outbox('dead'))}")

    def change_log_rows(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(ChangeLog)).scalar_one())

    def outbox(self, status: str) -> list[Mapping[str, Any]]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(OutboxItem).where(OutboxItem.status == status)).mappings())

    def assert_no_dead_letters(self) -> None:
        dead = self.outbox("dead")
        assert not dead, [(d["target"], d["entity"], d["last_error"]) for d in dead][:10]

    def assert_no_drift(self, passes: int = 2) -> None:
        """With nothing edited anywhere, passes push nothing and add no change-log row."""
        before = self.change_log_rows()
        for _ in range(passes):
            self.sandboxes.advance()
            report = self.one_pass()
            assert (report.queued, report.pushed) == (0, 0), f"drift at rest: {report}"
        assert self.change_log_rows() == before, "an idle pass changed the store"

    def assert_converged(self) -> int:
        """Every CRM record linked to a live canonical record holds what a push of it would set there, for every
        field the mapping writes (read as crmsync reads it, through the connector); returns how many (record,
        system) pairs were compared."""
        compared = 0
        with self.engine.connect() as conn:
            refs = conn.execute(select(ExternalRef).where(ExternalRef.deleted_at.is_(None),
                                                          ExternalRef.system.in_(CRMS))).mappings().all()
            wanted: dict[tuple[str, str], list[str]] = {}
            for ref in refs:
                wanted.setdefault((ref["system"], ref["object"]), []).append(ref["external_id"])
            held = {}
            for (system, obj), ids in wanted.items():
                fetched = self.workspace.connector(system).fetch(obj, ids)  # type: ignore[attr-defined]
                held.update({(system, obj, record.external_id): record for record in fetched})
            by_entity: dict[str, list[Mapping[str, Any]]] = {}
            written: set[tuple[str, str, str]] = set()
            for ref in sorted(refs, key=lambda r: r["id"]):
                # Write-back goes to the record a system holds first for a person per object (see writeback.py).
                if (ref["canonical_id"], ref["system"], ref["object"]) not in written:
                    written.add((ref["canonical_id"], ref["system"], ref["object"]))
                    by_entity.setdefault(ref["entity"], []).append(ref)
            for entity, entity_refs in by_entity.items():
                states = load_states(conn, entity, [r["canonical_id"] for r in entity_refs])
                for ref in entity_refs:
                    state = states.get(ref["canonical_id"])
                    if state is None or state.deleted_at is not None:
                        continue
                    record = held.get((ref["system"], ref["object"], ref["external_id"]))
                    assert record is not None and not record.deleted, (
                        f"{ref['system']} {ref['object']} {ref['external_id']} is gone there")
                    self._compare(conn, ref, state.values, record)
                    compared += 1
        return compared

    def _compare(self, conn: Any, ref: Mapping[str, Any], canonical: Mapping[str, Any], record: SourceRecord) -> None:
        system, obj = ref["system"], ref["object"]
        mapper = self.workspace.mappings_for(system).get(system, obj)
        payload = mapper.to_payload(canonical, _resolver(conn, system), frozenset(canonical))
        expected = mapper.to_patch(SourceRecord(system, obj, ref["external_id"], datetime.now(UTC), payload,
                                                connection=system))
        actual = mapper.to_patch(record)
        for name, value in expected.values.items():
            assert same_value(actual.values.get(name), value), (
                f"{system} {obj} {ref['external_id']} {name}: holds {actual.values.get(name)!r}, "
                f"the store {canonical.get(name)!r}")
        for name, target in expected.refs.items():
            found = actual.refs.get(name)
            assert found is not None and found.external_id == target.external_id, (
                f"{system} {obj} {ref['external_id']} {name}: points at {found}, should at {target}")


def _resolver(conn: Any, system: str) -> Any:
    def resolve(object_name: str, canonical_id: str) -> str | None:
        return conn.execute(select(ExternalRef.external_id).where(
            ExternalRef.system == system, ExternalRef.object == object_name, ExternalRef.canonical_id == canonical_id,
            ExternalRef.deleted_at.is_(None))).scalar()

    return resolve


def entity_count(engine: Any, entity: str) -> int:
    model = ENTITY_MODELS[entity]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(
            model.deleted_at.is_(None), model.merged_into.is_(None))).scalar_one())


def hubspot_signed(secret: str, url: str, events: list[dict[str, Any]]) -> tuple[bytes, dict[str, str]]:
    """A batch signed as HubSpot signs it (v3) for `url`."""
    body = json.dumps(events).encode()
    timestamp = str(int(time.time() * 1000))
    signature = base64.b64encode(hmac.new(secret.encode(), b"POST" + url.encode() + body + timestamp.encode(),
                                          hashlib.sha256).digest()).decode()
    return body, {"Content-Type": "application/json", "X-HubSpot-Signature-v3": signature,
                  "X-HubSpot-Request-Timestamp": timestamp}
