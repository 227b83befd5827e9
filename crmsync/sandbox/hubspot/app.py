"""Assemble the HubSpot emulator: CRM routes behind the auth/rate-limit gate and the fault middleware."""

from __future__ import annotations

from crmsync.sandbox.framework.assembly import emulator, vendor_app
from crmsync.sandbox.framework.emulator import Emulator, EmulatorSettings
from crmsync.sandbox.framework.faults import FaultInjector, FaultProfile, FaultTemplate
from crmsync.sandbox.hubspot.associations import build_associations_router
from crmsync.sandbox.hubspot.auth import build_oauth_router
from crmsync.sandbox.hubspot.errors import error_body, install_error_handlers
from crmsync.sandbox.hubspot.gate import HubSpotGate, rate_limit_body
from crmsync.sandbox.hubspot.objects import build_objects_router
from crmsync.sandbox.hubspot.portal import HubSpotPortal
from crmsync.sandbox.hubspot.properties import build_properties_router

# HubSpot answers rate limits with 429 and a policyName; the daily allowance is a 429 too (policy DAILY).
HUBSPOT_FAULTS: FaultProfile = {
    "rate_limited": FaultTemplate(429, rate_limit_body("TEN_SECONDLY_ROLLING"),
                                  {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                                   "X-HubSpot-RateLimit-Max": "190", "X-HubSpot-RateLimit-Remaining": "0"}),
    "quota_exhausted": FaultTemplate(429, rate_limit_body("DAILY")),
    "server_error": FaultTemplate(502, error_body("INTERNAL_ERROR", "internal error")),
    "slow": FaultTemplate(None, delay_seconds=2.0),
    "token_expired": FaultTemplate(401, error_body("EXPIRED_AUTHENTICATION",
                                                   "The OAuth token used to make this call expired.")),
}


def create_hubspot_emulator(settings: EmulatorSettings) -> Emulator:
    portal = HubSpotPortal(settings.clock, FaultInjector(HUBSPOT_FAULTS), settings.faker_seed, settings.options)
    app = vendor_app("hubspot", "HubSpot", portal, portal.admin_routes())
    app.state.portal = portal
    install_error_handlers(app)
    app.include_router(build_oauth_router(portal.tokens))
    app.include_router(build_properties_router())
    app.include_router(build_associations_router())
    app.include_router(build_objects_router())
    return emulator("hubspot", HubSpotGate(app, portal.tokens, portal.limiter), portal, portal.credentials.as_dict())
