"""Vendor-neutral sandbox machinery: clock, faults, admin API, TLS, registry and runner."""

from crmsync.sandbox.framework.admin import ADMIN_PREFIX, install_admin_api
from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.framework.emulator import (
    EMULATOR_REGISTRY,
    Emulator,
    EmulatorFactory,
    EmulatorSettings,
    SandboxAdminError,
    SandboxBackend,
    SandboxEndpoint,
    available_vendors,
    get_emulator_factory,
    register_emulator,
)
from crmsync.sandbox.framework.faults import (
    FAULT_KINDS,
    Fault,
    FaultInjector,
    FaultMiddleware,
    FaultProfile,
    FaultTemplate,
)
from crmsync.sandbox.framework.runner import SandboxRunner
from crmsync.sandbox.framework.tls import SandboxTls

__all__ = [
    "ADMIN_PREFIX",
    "EMULATOR_REGISTRY",
    "FAULT_KINDS",
    "Emulator",
    "EmulatorFactory",
    "EmulatorSettings",
    "Fault",
    "FaultInjector",
    "FaultMiddleware",
    "FaultProfile",
    "FaultTemplate",
    "SandboxAdminError",
    "SandboxBackend",
    "SandboxClock",
    "SandboxEndpoint",
    "SandboxRunner",
    "SandboxTls",
    "available_vendors",
    "get_emulator_factory",
    "install_admin_api",
    "register_emulator",
]
