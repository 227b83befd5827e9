"""The emulated Zoho world: one org per data centre, the accounts servers, and the admin backend.

`ZohoSandbox` is the `SandboxBackend` behind `/__sandbox/...`. Object names there are module API names and
act on the default data centre's org; `Leads@eu` addresses another data centre's org. Zoho-only admin routes:
`POST tokens/expire`, `GET notifications` (callbacks sent), `POST channels/expire`, `POST grant-code`,
`PUT concurrency`, `POST purge` (delete a record for good, leaving no deleted-records entry).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.framework.emulator import SandboxAdminError
from crmsync.sandbox.framework.faults import FaultInjector
from crmsync.sandbox.zoho.accounts import DEFAULT_TOKEN_LIFETIME_SECONDS, AccountsServer, ClientCredentials
from crmsync.sandbox.zoho.datacentres import DATA_CENTRES, DEFAULT_DC, DataCentre
from crmsync.sandbox.zoho.gate import DEFAULT_CONCURRENCY_LIMIT, DEFAULT_DAILY_CREDITS, ApiCredits, Concurrency
from crmsync.sandbox.zoho.notifications import NotificationHub
from crmsync.sandbox.zoho.records import PageTokens
from crmsync.sandbox.zoho.seeding import ZohoSeedGenerator
from crmsync.sandbox.zoho.store import OrgUser, RecordStore, UnknownModuleError
from crmsync.sandbox.zoho.validation import RowError

DEFAULT_CLIENT = ClientCredentials("1000.CRMSYNCSANDBOXCLIENT0000000000", "crmsync-sandbox-zoho-client-secret")
TIME_ZONE_NAMES = {"com": "America/Bogota", "eu": "Africa/Lagos", "in": "Asia/Kolkata"}  # fixed offsets, no DST


class GrantCodeRequest(BaseModel):
    dc: str = DEFAULT_DC


class ConcurrencyRequest(BaseModel):
    limit: int = Field(ge=1)
    dc: str | None = None


class PurgeRequest(BaseModel):
    module: str
    id: str
    dc: str | None = None


class ChannelExpireRequest(BaseModel):
    channel_id: str | None = None
    dc: str | None = None


class ZohoOrg:
    """One org in one data centre: records, credits, concurrency, page tokens, notification channels."""

    def __init__(self, dc: DataCentre, base_url: str, clock: SandboxClock, options: Mapping[str, Any]) -> None:
        self.dc, self.clock = dc, clock
        self.api_domain = dc.api_domain(base_url)
        self.org_id = f"{dc.id_prefix}00000000001"
        self.company_name = f"crmsync sandbox ({dc.code})"
        self.time_zone_name = TIME_ZONE_NAMES.get(dc.code, "UTC")
        user = OrgUser(f"{dc.id_prefix}000000000201", "Sandbox Admin", f"admin@{dc.code}.crmsync-sandbox.example")
        self.store = RecordStore(clock, dc, user)
        self.credits = ApiCredits(clock, int(options.get("daily_credits", DEFAULT_DAILY_CREDITS)))
        self.concurrency = Concurrency(int(options.get("concurrency_limit", DEFAULT_CONCURRENCY_LIMIT)))
        self.page_tokens = PageTokens(clock)
        self.notifications = NotificationHub(self)

    def reset(self) -> None:
        self.store.reset()
        self.credits.reset()
        self.page_tokens.reset()
        self.notifications.clear()


class ZohoSandbox:
    def __init__(self, base_url: str, clock: SandboxClock, faults: FaultInjector, faker_seed: int,
                 options: Mapping[str, Any]) -> None:
        self.base_url, self.clock, self.faults, self.faker_seed = base_url, clock, faults, faker_seed
        codes = list(options.get("data_centres", DATA_CENTRES))
        unknown = [code for code in codes if code not in DATA_CENTRES]
        if unknown:
            raise ValueError(f"unknown Zoho data centre(s) {unknown}; known: {', '.join(DATA_CENTRES)}")
        self.default_dc = str(options.get("default_dc", codes[0] if DEFAULT_DC not in codes else DEFAULT_DC))
        self.orgs = {code: ZohoOrg(DATA_CENTRES[code], base_url, clock, options) for code in codes}
        client = ClientCredentials(str(options.get("client_id", DEFAULT_CLIENT.client_id)),
                                   str(options.get("client_secret", DEFAULT_CLIENT.client_secret)))
        self.accounts = AccountsServer(clock, client, {code: org.api_domain for code, org in self.orgs.items()},
                                       float(options.get("token_lifetime_seconds", DEFAULT_TOKEN_LIFETIME_SECONDS)))
        self._generators: dict[int, ZohoSeedGenerator] = {}

    @property
    def credentials(self) -> dict[str, str]:
        """What a client needs: the client pair, and per data centre its accounts URL and refresh token."""
        values = {"client_id": self.accounts.client.client_id, "client_secret": self.accounts.client.client_secret,
                  "dc": self.default_dc, "accounts_url": DATA_CENTRES[self.default_dc].accounts_url(self.base_url),
                  "refresh_token": self.accounts.refresh_tokens[self.default_dc]}
        for code in self.orgs:
            values[f"accounts_url_{code}"] = DATA_CENTRES[code].accounts_url(self.base_url)
            values[f"refresh_token_{code}"] = self.accounts.refresh_tokens[code]
        return values

    # -- addressing -----------------------------------------------------------------------------------
    def _target(self, object_name: str) -> tuple[ZohoOrg, str]:
        name, _, code = object_name.partition("@")
        org = self.orgs.get(code or self.default_dc)
        if org is None:
            raise SandboxAdminError(f"unknown Zoho data centre {code!r}; known: {', '.join(self.orgs)}", 404)
        try:
            return org, org.store.module(name).api_name
        except UnknownModuleError:
            known = ", ".join(org.store.modules)
            raise SandboxAdminError(f"unknown Zoho module {name!r}; modules: {known}", 404) from None

    def _org(self, code: str | None) -> ZohoOrg:
        org = self.orgs.get(code or self.default_dc)
        if org is None:
            raise SandboxAdminError(f"unknown Zoho data centre {code!r}; known: {', '.join(self.orgs)}", 404)
        return org

    # -- SandboxBackend -------------------------------------------------------------------------------
    def seed(self, object_name: str, count: int, faker_seed: int | None) -> dict[str, Any]:
        org, module = self._target(object_name)
        seed = self.faker_seed if faker_seed is None else faker_seed
        if seed not in self._generators:
            self._generators[seed] = ZohoSeedGenerator(seed, self.clock.now().date())
        with org.store.lock:
            parents = {name: list(org.store.tables[name]) for name in ("Accounts", "Contacts")}
            existing = len(org.store.tables[module])
            rows = self._generators[seed].rows(module, count, existing, parents)
            created = org.store.insert_seeded(org.store.modules[module], rows)
        return {"object": module, "dc": org.dc.code, "created": created, "total": existing + created}

    def list_records(self, object_name: str, include_deleted: bool) -> list[dict[str, Any]]:
        org, module = self._target(object_name)
        definition = org.store.modules[module]
        with org.store.lock:
            rows = [org.store.render(definition, row) for row in org.store.rows(module)]
            if include_deleted:
                rows += [{**org.store.render_deleted(gone), "$deleted": True} for gone in org.store.deleted
                         if gone.module == module]
        return rows

    def create_record(self, object_name: str, fields: dict[str, Any]) -> dict[str, Any]:
        org, module = self._target(object_name)
        definition = org.store.modules[module]
        try:
            record = org.store.create(definition, fields)
        except RowError as exc:
            raise SandboxAdminError(f"{exc.code}: {exc.message} {exc.details}") from None
        return org.store.render(definition, record)

    def update_record(self, object_name: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        org, module = self._target(object_name)
        definition = org.store.modules[module]
        if org.store.get(module, record_id) is None:
            raise SandboxAdminError(f"no {module} record {record_id}", 404)
        try:
            record = org.store.update(definition, record_id, fields)
        except RowError as exc:
            raise SandboxAdminError(f"{exc.code}: {exc.message} {exc.details}") from None
        return org.store.render(definition, record)

    def delete_record(self, object_name: str, record_id: str) -> None:
        org, module = self._target(object_name)
        if org.store.delete(org.store.modules[module], record_id) is None:
            raise SandboxAdminError(f"no {module} record {record_id}", 404)

    def add_listener(self, config: dict[str, Any]) -> dict[str, Any]:
        """A notification channel made directly (as if subscribed): url, module, events, token, channel_id."""
        org, module = self._target(str(config.get("module", config.get("object", "Leads"))))
        item = {"channel_id": str(config.get("channel_id", "1000000068001")), "notify_url": config.get("url"),
                "events": config.get("events") or [f"{module}.all"], "token": config.get("token")}
        result = org.notifications.subscribe([item])[0]
        if result["status"] != "success":
            raise SandboxAdminError(f"listener refused: {result['message']} ({result['details']})")
        return {"dc": org.dc.code, **result["details"]["events"][0]}

    def list_listeners(self) -> list[dict[str, Any]]:
        return [{"dc": code, **channel} for code, org in self.orgs.items() for channel in org.notifications.describe()]

    def clear_listeners(self) -> None:
        for org in self.orgs.values():
            org.notifications.clear()

    def set_daily_quota(self, daily_limit: int | None, used: int | None) -> dict[str, Any]:
        """Applies to every data centre's org; answers the default one's state."""
        states = {code: org.credits.configure(daily_limit, used) for code, org in self.orgs.items()}
        return states[self.default_dc]

    def reset(self) -> None:
        """Empty orgs, no channels, credits back to full. Tokens stay valid."""
        for org in self.orgs.values():
            org.reset()

    def close(self) -> None:
        for org in self.orgs.values():
            org.notifications.close()

    # -- Zoho-only admin routes -----------------------------------------------------------------------
    def admin_routes(self) -> APIRouter:
        router = APIRouter(prefix="/zoho")

        @router.post("/tokens/expire")
        async def expire_tokens() -> dict[str, int]:
            return {"expired": self.accounts.expire_all()}

        @router.post("/grant-code")
        async def grant_code(body: GrantCodeRequest) -> dict[str, str]:
            self._org(body.dc)
            return {"code": self.accounts.grant_code(body.dc), "dc": body.dc}

        @router.put("/concurrency")
        async def concurrency(body: ConcurrencyRequest) -> dict[str, int]:
            self._org(body.dc).concurrency.limit = body.limit
            return {"limit": body.limit}

        @router.post("/channels/expire")
        async def expire_channels(body: ChannelExpireRequest) -> dict[str, int]:
            return {"expired": self._org(body.dc).notifications.expire(body.channel_id)}

        @router.post("/purge")
        async def purge(body: PurgeRequest) -> dict[str, str]:
            org, module = self._target(f"{body.module}@{body.dc}" if body.dc else body.module)
            if not org.store.purge(org.store.modules[module], body.id):
                raise SandboxAdminError(f"no {module} record {body.id}, live or in the recycle bin", 404)
            return {"module": module, "id": body.id}

        @router.get("/notifications")
        async def deliveries(dc: str | None = None) -> list[dict[str, Any]]:
            org = self._org(dc)
            return [{"channel_id": d.channel_id, "module": d.module, "operation": d.operation, "ids": d.ids,
                     "status": d.status} for d in list(org.notifications.deliveries)]

        @router.get("/usage")
        async def usage(dc: str | None = None) -> dict[str, Any]:
            org = self._org(dc)
            return {"daily_limit": org.credits.daily_limit, "used": org.credits.used, "grants": self.accounts.grants}

        return router
