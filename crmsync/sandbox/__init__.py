"""crmsync sandbox: local emulators of vendor APIs (`crmsync sandbox up`) for offline development.

    from crmsync.sandbox import SandboxRunner
    with SandboxRunner(["salesforce"]) as sandbox:
        endpoint = sandbox.endpoints["salesforce"]   # base_url, credentials, ca_bundle
"""

from crmsync.sandbox.framework import (
    EMULATOR_REGISTRY,
    Emulator,
    EmulatorSettings,
    SandboxBackend,
    SandboxClock,
    SandboxEndpoint,
    SandboxRunner,
    available_vendors,
    register_emulator,
)

__all__ = [
    "EMULATOR_REGISTRY",
    "Emulator",
    "EmulatorSettings",
    "SandboxBackend",
    "SandboxClock",
    "SandboxEndpoint",
    "SandboxRunner",
    "available_vendors",
    "register_emulator",
]
