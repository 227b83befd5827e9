"""The plug-in surface of the sandbox: what a vendor emulator provides and how it is registered.

A vendor registers a factory under its name; the runner binds a port, builds the emulator for that base
URL and serves it. Adding HubSpot later means a `crmsync/sandbox/hubspot/` package whose `__init__` calls
`register_emulator("hubspot", create_hubspot_emulator)`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from starlette.types import ASGIApp

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.framework.faults import FaultInjector

DEFAULT_FAKER_SEED = 42


class SandboxAdminError(Exception):
    """A bad admin request (unknown object, unknown record id ...); the admin API answers `status_code`."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class SandboxEndpoint:
    """How a client reaches one running emulator."""

    vendor: str
    base_url: str
    credentials: dict[str, str]
    ca_bundle: str | None

    def requests_session(self) -> requests.Session:
        """A `requests.Session` that trusts the sandbox CA; the caller closes it.

        `trust_env` is off on purpose: with it on, a `REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE` environment
        variable silently overrides `Session.verify` (a long-standing requests behaviour), and proxy
        variables could route loopback traffic through a proxy.
        """
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_bundle if self.ca_bundle else True
        return session


@dataclass(frozen=True)
class EmulatorSettings:
    """What the runner hands a factory. `options` are vendor-specific knobs (token lifetime, backoff...)."""

    vendor: str
    base_url: str
    clock: SandboxClock
    faker_seed: int = DEFAULT_FAKER_SEED
    options: Mapping[str, Any] = field(default_factory=dict)


class SandboxBackend(Protocol):
    """The vendor state behind the generic admin API (`/__sandbox/...`).

    Record methods act "as a user of that CRM would": they stamp modification times with the sandbox
    clock and fire the vendor's change notifications, so incremental sync and webhooks see them.
    """

    clock: SandboxClock
    faults: FaultInjector

    def seed(self, object_name: str, count: int, faker_seed: int | None) -> dict[str, Any]: ...

    def list_records(self, object_name: str, include_deleted: bool) -> list[dict[str, Any]]: ...

    def create_record(self, object_name: str, fields: dict[str, Any]) -> dict[str, Any]: ...

    def update_record(self, object_name: str, record_id: str, fields: dict[str, Any]) -> dict[str, Any]: ...

    def delete_record(self, object_name: str, record_id: str) -> None: ...

    def add_listener(self, config: dict[str, Any]) -> dict[str, Any]: ...

    def list_listeners(self) -> list[dict[str, Any]]: ...

    def clear_listeners(self) -> None: ...

    def set_daily_quota(self, daily_limit: int | None, used: int | None) -> dict[str, Any]: ...

    def reset(self) -> None: ...


@dataclass
class Emulator:
    """A built emulator: its ASGI app (admin API included), login credentials and backend."""

    vendor: str
    app: ASGIApp
    credentials: dict[str, str]
    backend: SandboxBackend
    close: Callable[[], None] = lambda: None


EmulatorFactory = Callable[[EmulatorSettings], Emulator]

EMULATOR_REGISTRY: dict[str, EmulatorFactory] = {}
# Vendors whose package registers itself on import; the registry imports them on first use.
BUILTIN_VENDOR_MODULES: dict[str, str] = {
    "salesforce": "crmsync.sandbox.salesforce",
    "hubspot": "crmsync.sandbox.hubspot",
    "stripe": "crmsync.sandbox.stripe",
    "razorpay": "crmsync.sandbox.razorpay",
    "zoho": "crmsync.sandbox.zoho",
    "five9": "crmsync.sandbox.five9",
}


def register_emulator(vendor: str, factory: EmulatorFactory) -> None:
    """Make `vendor` available to the runner and `crmsync sandbox up`."""
    EMULATOR_REGISTRY[vendor] = factory


def available_vendors() -> list[str]:
    return sorted({*EMULATOR_REGISTRY, *BUILTIN_VENDOR_MODULES})


def get_emulator_factory(vendor: str) -> EmulatorFactory:
    if vendor not in EMULATOR_REGISTRY and vendor in BUILTIN_VENDOR_MODULES:
        importlib.import_module(BUILTIN_VENDOR_MODULES[vendor])
    try:
        return EMULATOR_REGISTRY[vendor]
    except KeyError:
        known = ", ".join(available_vendors())
        raise SandboxAdminError(f"no sandbox emulator for {vendor!r}; available: {known}", 404) from None
