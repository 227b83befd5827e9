"""Assemble the Salesforce emulator: FastAPI routes behind the session/limit gate and fault middleware."""

from __future__ import annotations

from crmsync.sandbox.framework.assembly import emulator, vendor_app
from crmsync.sandbox.framework.emulator import Emulator, EmulatorSettings
from crmsync.sandbox.framework.faults import FaultInjector, FaultProfile, FaultTemplate
from crmsync.sandbox.salesforce.auth import build_oauth_router
from crmsync.sandbox.salesforce.bulk import build_bulk_router
from crmsync.sandbox.salesforce.composite import build_composite_router
from crmsync.sandbox.salesforce.errors import error_body, install_error_handlers
from crmsync.sandbox.salesforce.gate import SalesforceGate
from crmsync.sandbox.salesforce.org import SalesforceOrg
from crmsync.sandbox.salesforce.rest import build_rest_router
from crmsync.sandbox.salesforce.sobjects import build_sobjects_router

_LIMIT_EXCEEDED = error_body("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

# Salesforce has no 429: rate and quota problems are 403 REQUEST_LIMIT_EXCEEDED, without Retry-After.
SALESFORCE_FAULTS: FaultProfile = {
    "rate_limited": FaultTemplate(
        403, error_body("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
    ),
    "quota_exhausted": FaultTemplate(403, _LIMIT_EXCEEDED),
    "server_error": FaultTemplate(
        500, error_body("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you "
                        "contact support: 1234567890-12345 (-1234567890)")
    ),
    "slow": FaultTemplate(None, delay_seconds=2.0),
    "token_expired": FaultTemplate(
        401, error_body("INVALID_SESSION_ID", "Session expired or invalid"), {"WWW-Authenticate": "Token"}
    ),
}


def create_salesforce_emulator(settings: EmulatorSettings) -> Emulator:
    org = SalesforceOrg(settings.base_url, settings.clock, FaultInjector(SALESFORCE_FAULTS), settings.faker_seed,
                        settings.options)
    app = vendor_app("salesforce", "Salesforce", org, org.admin_routes())
    app.state.org = org
    install_error_handlers(app)
    app.include_router(build_oauth_router(org.tokens))
    # Order matters: describe/updated/deleted must win over /sobjects/<Object>/<id>.
    app.include_router(build_rest_router())
    app.include_router(build_sobjects_router())
    app.include_router(build_composite_router())
    app.include_router(build_bulk_router())
    return emulator("salesforce", SalesforceGate(app, org.tokens, org.usage), org, org.credentials.as_dict())
