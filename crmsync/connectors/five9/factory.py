"""A Five9Connector from a `connections:` entry of crmsync.yaml (`base_url` = the web services host)."""

from __future__ import annotations

from pathlib import Path

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.five9 import Five9Connector, Five9Settings
from crmsync.connectors.registry import settings_values
from crmsync.store.tokens import TokenStore

SECRET_KEYS = ("username", "password", "web_connector_secret")


def build_connector(config: ConnectionConfig, token_store: TokenStore | None,
                    mapping_file: Path | None) -> Five9Connector:
    # Basic auth on every call: there is no token to store. The mapping does not change what a report returns.
    values = settings_values(config, SECRET_KEYS)
    if config.base_url is not None:
        values["base_url"] = config.base_url
    return Five9Connector(Five9Settings.model_validate(values), name=config.name)
