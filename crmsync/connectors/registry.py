"""Builds a connector from a connection's configuration; the runner and CLI never import a vendor package.

Each vendor package offers `build_connector(config, token_store, mapping_file)` in its `factory` module,
imported on first use, so a vendor SDK loads only when a connection of that system is configured.
`mapping_file` is the mapping in force for the connection (it tells a connector which fields to read).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.base import Capability, Connector
from crmsync.errors import ConfigError
from crmsync.store.tokens import TokenStore

FACTORY_MODULES: dict[str, str] = {
    "salesforce": "crmsync.connectors.salesforce.factory",
    "hubspot": "crmsync.connectors.hubspot.factory",
    "zoho": "crmsync.connectors.zoho.factory",
    "stripe": "crmsync.connectors.stripe.factory",
    "razorpay": "crmsync.connectors.razorpay.factory",
    "five9": "crmsync.connectors.five9.factory",
}

ConnectorFactory = Callable[[ConnectionConfig, TokenStore | None, Path | None], Connector]


def build_connector(config: ConnectionConfig, token_store: TokenStore | None = None,
                    mapping_file: Path | None = None) -> Connector:
    """The connector for `config`; ConfigError naming the connection and key when its settings are wrong."""
    module_name = FACTORY_MODULES.get(config.system)
    if module_name is None:
        available = ", ".join(sorted(FACTORY_MODULES))
        raise ConfigError(f"connection {config.name}: no connector for system {config.system!r} in this version "
                          f"(available: {available})")
    factory: ConnectorFactory = importlib.import_module(module_name).build_connector
    try:
        return factory(config, token_store, mapping_file)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(connection)'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"connection {config.name} ({config.system}): {problems}") from None


def supports(connector: Connector, capability: Capability) -> bool:
    return capability in connector.capabilities


def settings_values(config: ConnectionConfig, secret_keys: Sequence[str]) -> dict[str, Any]:
    """Options plus the named secrets (as plain values for the connector's own SecretStr fields)."""
    values: dict[str, Any] = dict(config.options)
    for key in secret_keys:
        secret = config.secret(key)
        if secret is not None:
            values[key] = secret
    unknown = sorted(set(config.credentials) - set(secret_keys))
    if unknown:
        raise ConfigError(f"connection {config.name}: unknown credential(s) {', '.join(unknown)}; "
                          f"{config.system} takes {', '.join(secret_keys)}")
    if config.ca_bundle is not None:
        values["ca_bundle"] = config.ca_bundle
    return values
