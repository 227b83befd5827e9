"""One emulated Salesforce org: its data, sessions, API allocation, bulk jobs and outbound messages.

`SalesforceOrg` is also the `SandboxBackend` behind the generic admin API, plus a few Salesforce-only
admin routes (expire tokens, switch Bulk API availability, define custom fields, read the outbound log,
empty the recycle bin, activate duplicate rules).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.framework.emulator import SandboxAdminError
from crmsync.sandbox.framework.faults import FaultInjector
from crmsync.sandbox.salesforce.auth import DEFAULT_TOKEN_LIFETIME_SECONDS, OAuthCredentials, TokenService
from crmsync.sandbox.salesforce.bulk import BulkService
from crmsync.sandbox.salesforce.duplicates import DuplicateRule
from crmsync.sandbox.salesforce.gate import DEFAULT_DAILY_API_LIMIT, ApiUsage
from crmsync.sandbox.salesforce.outbound import OutboundMessenger, OutboundRetryPolicy
from crmsync.sandbox.salesforce.query import QueryService
from crmsync.sandbox.salesforce.schema import CUSTOM_FIELD_NAME, FieldDef
from crmsync.sandbox.salesforce.seeding import SeedGenerator
from crmsync.sandbox.salesforce.sobjects import record_body
from crmsync.sandbox.salesforce.store import SObjectStore, UnknownObjectError
from crmsync.sandbox.salesforce.validation import RecordError
from crmsync.sandbox.salesforce.values import make_id

API_VERSION = "59.0"
DEFAULT_CREDENTIALS = OAuthCredentials(
    client_id="3MVG9crmsyncSandboxConsumerKey.local",
    client_secret="crmsync-sandbox-consumer-secret",
    username="admin@crmsync-sandbox.example",
    password="sandbox-password",
)


class CustomFieldRequest(BaseModel):
    object: str
    name: str
    type: str = "string"
    label: str | None = None
    length: int = 255
    externalId: bool = False  # Salesforce's describe spelling
    unique: bool = False


class BulkModeRequest(BaseModel):
    mode: str


class DuplicateRuleRequest(BaseModel):
    object: str
    fields: list[str]
    name: str | None = None


class EmptyBinRequest(BaseModel):
    object: str | None = None
    ids: list[str] | None = None  # None: every record in the bin (of `object`, if given)


class SalesforceOrg:
    def __init__(self, base_url: str, clock: SandboxClock, faults: FaultInjector, faker_seed: int,
                 options: Mapping[str, Any]) -> None:
        self.base_url, self.clock, self.faults, self.faker_seed = base_url, clock, faults, faker_seed
        self.org_id, self.user_id = make_id("00D", 1), make_id("005", 1)
        self.credentials = OAuthCredentials(**{
            key: str(options.get(key, getattr(DEFAULT_CREDENTIALS, key)))
            for key in ("client_id", "client_secret", "username", "password")
        })
        self.store = SObjectStore(clock, self.user_id)
        self.tokens = TokenService(clock, self.credentials, base_url, self.org_id, self.user_id,
                                   float(options.get("token_lifetime_seconds", DEFAULT_TOKEN_LIFETIME_SECONDS)))
        self.usage = ApiUsage(clock, int(options.get("daily_api_limit", DEFAULT_DAILY_API_LIMIT)))
        self.queries = QueryService(self.store, clock)
        self.bulk = BulkService(self.store, clock, int(options.get("bulk_polls_until_complete", 2)))
        policy = OutboundRetryPolicy(
            float(options.get("outbound_retry_initial_seconds", OutboundRetryPolicy.initial_seconds)),
            float(options.get("outbound_retry_max_seconds", OutboundRetryPolicy.max_seconds)),
            float(options.get("outbound_give_up_after_seconds", OutboundRetryPolicy.give_up_after_seconds)),
        )
        self.outbound = OutboundMessenger(self.store, self.org_id, base_url, API_VERSION, policy)
        self._generators: dict[int, SeedGenerator] = {}

    # -- SandboxBackend -------------------------------------------------------------------------------
    def _object_name(self, object_name: str) -> str:
        try:
            return self.store.sobject(object_name).name
        except UnknownObjectError:
            raise SandboxAdminError(f"unknown Salesforce object {object_name!r}", 404) from None

    def seed(self, object_name: str, count: int, faker_seed: int | None) -> dict[str, Any]:
        name = self._object_name(object_name)
        seed = self.faker_seed if faker_seed is None else faker_seed
        if seed not in self._generators:
            self._generators[seed] = SeedGenerator(seed, self.clock.now().date())
        generator = self._generators[seed]
        with self.store.lock:
            parents = {
                parent: [row["Id"] for row in self.store.rows(parent, include_deleted=False)]
                for parent in ("Account", "Lead", "Contact")
            }
            existing = len(self.store.tables[name])
            created = self.store.insert_seeded(name, generator.rows(name, count, existing, parents))
        return {"object": name, "created": created, "total": existing + created}

    def list_records(self, object_name: str, include_deleted: bool) -> list[dict[str, Any]]:
        sobject = self.store.sobject(self._object_name(object_name))
        with self.store.lock:
            rows = list(self.store.rows(sobject.name, include_deleted=include_deleted))
        return [record_body(sobject, row, API_VERSION) for row in rows]

    def _as_admin_error(self, exc: RecordError) -> SandboxAdminError:
        return SandboxAdminError(f"{exc.code}: {exc.message}", 404 if exc.http_status == 404 else 400)

    def create_record(self, object_name: str, fields: dict[str, Any]) -> dict[str, Any]:
        name = self._object_name(object_name)
        try:
            record = self.store.create(name, fields)
        except RecordError as exc:
            raise self._as_admin_error(exc) from None
        return record_body(self.store.sobject(name), record, API_VERSION)

    def update_record(self, object_name: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        name = self._object_name(object_name)
        try:
            record = self.store.update(name, record_id, fields)
        except RecordError as exc:
            raise self._as_admin_error(exc) from None
        return record_body(self.store.sobject(name), record, API_VERSION)

    def delete_record(self, object_name: str, record_id: str) -> None:
        try:
            self.store.delete(self._object_name(object_name), record_id)
        except RecordError as exc:
            raise self._as_admin_error(exc) from None

    def add_listener(self, config: dict[str, Any]) -> dict[str, Any]:
        return self.outbound.add_listener(config)

    def list_listeners(self) -> list[dict[str, Any]]:
        return self.outbound.listeners()

    def clear_listeners(self) -> None:
        self.outbound.clear()

    def set_daily_quota(self, daily_limit: int | None, used: int | None) -> dict[str, Any]:
        return self.usage.configure(daily_limit, used)

    def reset(self) -> None:
        """Empty org (schema back to standard), no listeners, usage 0. Sessions stay valid."""
        self.store.reset()
        self.queries.reset()
        self.bulk.reset()
        self.outbound.clear()
        self.usage.reset()

    def close(self) -> None:
        self.outbound.close()

    # -- Salesforce-only admin routes -----------------------------------------------------------------
    def admin_routes(self) -> APIRouter:
        router = APIRouter()

        @router.post("/tokens/expire")
        async def expire_tokens() -> dict[str, int]:
            return {"expired": self.tokens.expire_all()}

        @router.put("/bulk")
        async def bulk_mode(body: BulkModeRequest) -> dict[str, str]:
            try:
                self.bulk.set_mode(body.mode)
            except ValueError as exc:
                raise SandboxAdminError(str(exc)) from None
            return {"mode": self.bulk.mode}

        @router.post("/fields", status_code=201)
        async def add_field(body: CustomFieldRequest) -> dict[str, Any]:
            if not CUSTOM_FIELD_NAME.match(body.name):
                raise SandboxAdminError("custom field names end in __c, e.g. Legacy_Id__c")
            if body.type not in ("string", "email", "phone", "url", "textarea", "boolean", "double", "int",
                                 "date", "datetime", "currency"):
                raise SandboxAdminError(f"unsupported custom field type {body.type!r}")
            field = FieldDef(body.name, body.type, body.label or body.name, body.length if body.type == "string"
                             else 0, custom=True, external_id=body.externalId, unique=body.unique)  # type: ignore[arg-type]
            self.store.add_custom_field(self._object_name(body.object), field)
            return field.describe()

        @router.post("/duplicate-rules", status_code=201)
        async def add_duplicate_rule(body: DuplicateRuleRequest) -> dict[str, Any]:
            sobject = self.store.sobject(self._object_name(body.object))
            unknown = [name for name in body.fields if sobject.field(name) is None]
            if not body.fields or unknown:
                raise SandboxAdminError(f"a duplicate rule needs fields of {sobject.name}; unknown: {unknown}")
            fields = tuple(field.name for name in body.fields if (field := sobject.field(name)) is not None)
            rule = DuplicateRule(sobject.name, fields, body.name or f"{sobject.name}_Duplicate_Rule")
            with self.store.lock:
                self.store.duplicate_rules.append(rule)
            return rule.describe()

        @router.post("/recycle-bin/empty")
        async def empty_recycle_bin(body: EmptyBinRequest) -> dict[str, list[str]]:
            # As emptyRecycleBin (or the bin's own purge): gone from query, queryAll and getDeleted. Listed ids
            # that are still live are hard-deleted, as a Bulk API hardDelete does.
            name = self._object_name(body.object) if body.object else None
            ids = body.ids if body.ids is not None else self.store.recycle_bin(name)
            return {"purged": self.store.purge(ids, name)}

        @router.get("/outbound")
        async def outbound_log(request: Request) -> list[dict[str, Any]]:
            return [message.describe() for message in self.outbound.messages]

        return router
