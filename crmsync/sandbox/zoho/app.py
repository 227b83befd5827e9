"""Assemble the Zoho CRM emulator: accounts servers and v8 API routes behind the token/credits gate."""

from __future__ import annotations

from crmsync.sandbox.framework.assembly import emulator, vendor_app
from crmsync.sandbox.framework.emulator import Emulator, EmulatorSettings
from crmsync.sandbox.framework.faults import FaultInjector, FaultProfile, FaultTemplate
from crmsync.sandbox.zoho.accounts import build_accounts_router
from crmsync.sandbox.zoho.coql import build_coql_router
from crmsync.sandbox.zoho.errors import error_body, install_error_handlers
from crmsync.sandbox.zoho.gate import ZohoGate
from crmsync.sandbox.zoho.meta import build_meta_router
from crmsync.sandbox.zoho.org import ZohoSandbox
from crmsync.sandbox.zoho.records import build_records_router
from crmsync.sandbox.zoho.watch import build_watch_router
from crmsync.sandbox.zoho.writes import build_writes_router

ZOHO_FAULTS: FaultProfile = {
    "rate_limited": FaultTemplate(429, error_body("TOO_MANY_REQUESTS", "concurrency limit exceeded"),
                                  {"Retry-After": "1", "X-RATELIMIT-REMAINING": "1000"}),
    "quota_exhausted": FaultTemplate(429, error_body("TOO_MANY_REQUESTS", "API credits exhausted for the day"),
                                     {"X-RATELIMIT-REMAINING": "0"}),
    "server_error": FaultTemplate(500, error_body("INTERNAL_ERROR", "Internal Server Error")),
    "slow": FaultTemplate(None, delay_seconds=2.0),
    "token_expired": FaultTemplate(401, error_body("INVALID_TOKEN", "invalid oauth token")),
}


def create_zoho_emulator(settings: EmulatorSettings) -> Emulator:
    sandbox = ZohoSandbox(settings.base_url, settings.clock, FaultInjector(ZOHO_FAULTS), settings.faker_seed,
                          settings.options)
    app = vendor_app("zoho", "Zoho CRM", sandbox, sandbox.admin_routes())
    app.state.sandbox = sandbox
    install_error_handlers(app)
    app.include_router(build_accounts_router(sandbox.accounts))
    # Order matters: fixed paths (coql, users, org, settings/*, actions/watch, {M}/deleted, {M}/upsert) must
    # win over /{Module} and /{Module}/{id}.
    app.include_router(build_meta_router())
    app.include_router(build_coql_router())
    app.include_router(build_watch_router())
    app.include_router(build_records_router())
    app.include_router(build_writes_router())
    return emulator("zoho", ZohoGate(app, sandbox), sandbox, sandbox.credentials)
