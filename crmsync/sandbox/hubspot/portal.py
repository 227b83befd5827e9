"""One emulated HubSpot portal: records, properties, tokens, rate limits and webhooks.

`HubSpotPortal` is the `SandboxBackend` behind the generic admin API, plus HubSpot-only admin routes
(expire tokens, tune rate limits, merge records, define properties, associate records, read the webhook log,
purge a record for good).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.framework.emulator import SandboxAdminError
from crmsync.sandbox.framework.faults import FaultInjector
from crmsync.sandbox.hubspot.auth import DEFAULT_TOKEN_LIFETIME_SECONDS, AppCredentials, TokenService
from crmsync.sandbox.hubspot.bodies import render
from crmsync.sandbox.hubspot.errors import HubSpotApiError
from crmsync.sandbox.hubspot.gate import RateLimiter, RateLimits
from crmsync.sandbox.hubspot.properties import define_property
from crmsync.sandbox.hubspot.relations import associate, merge
from crmsync.sandbox.hubspot.schema import DEFAULT_ASSOCIATIONS, object_type_name
from crmsync.sandbox.hubspot.seeding import SeedGenerator
from crmsync.sandbox.hubspot.store import PortalStore
from crmsync.sandbox.hubspot.webhooks import RetryPolicy, WebhookEmitter

DEFAULT_CREDENTIALS = AppCredentials(
    client_id="crmsync-sandbox-hubspot-client-id",
    client_secret="crmsync-sandbox-hubspot-client-secret",
    refresh_token="crmsync-sandbox-hubspot-refresh-token",
    private_app_token="pat-na1-crmsync-sandbox-private-app-token",
    portal_id="62515",
)
APP_ID = 1_160_452


class RateLimitRequest(BaseModel):
    per_interval: int | None = None
    interval_seconds: float | None = None
    daily: int | None = None
    search_per_second: int | None = None


class MergeRequest(BaseModel):
    object: str
    primary: str
    merged: str


class PurgeRequest(BaseModel):
    object: str
    id: str


class AssociationRequest(BaseModel):
    from_object: str
    from_id: str
    to_object: str
    to_id: str


class HubSpotPortal:
    def __init__(self, clock: SandboxClock, faults: FaultInjector, faker_seed: int,
                 options: Mapping[str, Any]) -> None:
        self.clock, self.faults, self.faker_seed = clock, faults, faker_seed
        self.credentials = AppCredentials(**{key: str(options.get(key, getattr(DEFAULT_CREDENTIALS, key)))
                                             for key in DEFAULT_CREDENTIALS.as_dict()})
        self.store = PortalStore(clock)
        self.tokens = TokenService(clock, self.credentials,
                                   float(options.get("token_lifetime_seconds", DEFAULT_TOKEN_LIFETIME_SECONDS)))
        defaults = RateLimits()
        self.limiter = RateLimiter(clock, RateLimits(
            int(options.get("rate_limit_per_interval", defaults.per_interval)),
            float(options.get("rate_limit_interval_seconds", defaults.interval_seconds)),
            int(options.get("daily_api_limit", defaults.daily)),
            int(options.get("search_per_second", defaults.search_per_second)),
        ))
        policy = RetryPolicy(float(options.get("webhook_retry_initial_seconds", RetryPolicy.initial_seconds)),
                             float(options.get("webhook_retry_max_seconds", RetryPolicy.max_seconds)),
                             int(options.get("webhook_max_attempts", RetryPolicy.max_attempts)))
        self.webhooks = WebhookEmitter(clock, int(self.credentials.portal_id), APP_ID, self.credentials.client_secret,
                                       policy)
        self.store.listeners.append(self.webhooks.on_change)
        self._generators: dict[int, SeedGenerator] = {}

    # -- SandboxBackend -------------------------------------------------------------------------------
    def _object_type(self, name: str) -> str:
        resolved = object_type_name(name)
        if resolved is None:
            raise SandboxAdminError(f"unknown HubSpot object type {name!r}; known: contacts, companies, deals, calls",
                                    404)
        return resolved

    @staticmethod
    def _admin_error(exc: HubSpotApiError) -> SandboxAdminError:
        return SandboxAdminError(f"{exc.category}: {exc.message}", exc.status_code if exc.status_code < 500 else 400)

    def seed(self, object_name: str, count: int, faker_seed: int | None) -> dict[str, Any]:
        kind = self._object_type(object_name)
        seed = self.faker_seed if faker_seed is None else faker_seed
        generator = self._generators.setdefault(seed, SeedGenerator(seed, self.clock.now()))
        store = self.store
        with store.lock:
            table = store.tables[kind]
            parents = {name: list(store.tables[name].live_ids) for name in ("companies", "contacts")}
            existing, now = len(table.rows), store.now_ms()
            for values, links in generator.rows(kind, count, existing, parents):
                record = store._insert(kind, values, now)
                for to_type, to_id in links:  # seeded links, like seeded records, fire no webhooks
                    type_id = DEFAULT_ASSOCIATIONS[(kind, to_type)]
                    store.associations.setdefault((kind, record.id), {}).setdefault((to_type, to_id), set()).add(
                        type_id)
                    store.associations.setdefault((to_type, to_id), {}).setdefault((kind, record.id), set()).add(
                        DEFAULT_ASSOCIATIONS[(to_type, kind)])
        return {"object": kind, "created": count, "total": existing + count}

    def list_records(self, object_name: str, include_deleted: bool) -> list[dict[str, Any]]:
        kind = self._object_type(object_name)
        with self.store.lock:
            rows = [r for r in self.store.tables[kind].rows.values() if include_deleted or not r.archived]
            return [render(self.store, r, list(r.properties), ("companies", "contacts", "deals")) for r in rows]

    def create_record(self, object_name: str, fields: dict[str, Any]) -> dict[str, Any]:
        kind = self._object_type(object_name)
        try:
            record = self.store.create(kind, fields)
        except HubSpotApiError as exc:
            raise self._admin_error(exc) from None
        return render(self.store, record, list(record.properties))

    def update_record(self, object_name: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        kind = self._object_type(object_name)
        try:
            record = self.store.update(kind, record_id, fields)
        except HubSpotApiError as exc:
            raise self._admin_error(exc) from None
        return render(self.store, record, list(record.properties))

    def delete_record(self, object_name: str, record_id: str) -> None:
        try:
            self.store.archive(self._object_type(object_name), record_id)
        except HubSpotApiError as exc:
            raise self._admin_error(exc) from None

    def add_listener(self, config: dict[str, Any]) -> dict[str, Any]:
        return self.webhooks.add_listener(config)

    def list_listeners(self) -> list[dict[str, Any]]:
        return self.webhooks.listeners()

    def clear_listeners(self) -> None:
        self.webhooks.clear()

    def set_daily_quota(self, daily_limit: int | None, used: int | None) -> dict[str, Any]:
        return self.limiter.set_daily(daily_limit, used)

    def reset(self) -> None:
        """Empty portal (standard properties only), no listeners, limits back to configured. Tokens stay valid."""
        self.store.reset()
        self.webhooks.clear()
        self.limiter.reset()

    def close(self) -> None:
        self.webhooks.close()

    # -- HubSpot-only admin routes --------------------------------------------------------------------
    def admin_routes(self) -> APIRouter:
        router = APIRouter()

        @router.post("/tokens/expire")
        async def expire_tokens() -> dict[str, int]:
            return {"expired": self.tokens.expire_all()}

        @router.get("/tokens")
        async def token_stats() -> dict[str, int]:
            return {"refreshes": self.tokens.refreshes}

        @router.get("/rate-limits")
        async def rate_limits() -> dict[str, Any]:
            return self.limiter.describe()

        @router.put("/rate-limits")
        async def set_rate_limits(body: RateLimitRequest) -> dict[str, Any]:
            return self.limiter.configure(**body.model_dump())

        @router.post("/merge")
        def merge_records(body: MergeRequest) -> dict[str, Any]:
            try:
                survivor = merge(self.store, self._object_type(body.object), body.primary, body.merged)
            except HubSpotApiError as exc:
                raise self._admin_error(exc) from None
            return render(self.store, survivor, list(survivor.properties))

        @router.post("/purge", status_code=204)
        def purge(body: PurgeRequest) -> Response:
            """Delete a record for good without any event, as HubSpot does when an archived record passes 90
            days: nothing reports it any more, only the live-id listing shows it is gone."""
            if self.store.purge(self._object_type(body.object), body.id) is None:
                raise SandboxAdminError(f"no {body.object} record {body.id}", 404)
            return Response(status_code=204)

        @router.post("/properties/{object_name}", status_code=201)
        def define(object_name: str, body: dict[str, Any]) -> dict[str, Any]:
            kind = self._object_type(object_name)
            defaults = {"label": body.get("name"), "groupName": "crmsync", "fieldType": "text", "type": "string"}
            try:
                prop = define_property(self.store, kind, defaults | body)
            except HubSpotApiError as exc:
                raise self._admin_error(exc) from None
            return prop.describe("")

        @router.post("/associations", status_code=201)
        def link(body: AssociationRequest) -> dict[str, str]:
            store = self.store
            try:
                source = store.live(self._object_type(body.from_object), body.from_id)
                target = store.live(self._object_type(body.to_object), body.to_id)
                associate(store, source, target)
            except HubSpotApiError as exc:
                raise self._admin_error(exc) from None
            return {"from": str(source.id), "to": str(target.id)}

        @router.get("/webhooks")
        async def deliveries() -> list[dict[str, Any]]:
            return [delivery.describe() for delivery in list(self.webhooks.deliveries)]

        return router
