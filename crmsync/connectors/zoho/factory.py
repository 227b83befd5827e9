"""A ZohoConnector from a `connections:` entry of crmsync.yaml (`base_url` = the accounts server URL)."""

from __future__ import annotations

from pathlib import Path

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.registry import settings_values
from crmsync.connectors.zoho import ZohoConnector, ZohoSettings
from crmsync.connectors.zoho.streams import mapped_source_fields
from crmsync.store.tokens import TokenStore

SECRET_KEYS = ("client_id", "client_secret", "refresh_token", "notification_token")


def build_connector(config: ConnectionConfig, token_store: TokenStore | None,
                    mapping_file: Path | None) -> ZohoConnector:
    values = settings_values(config, SECRET_KEYS)
    if config.base_url is not None:
        values["accounts_url"] = config.base_url
    return ZohoConnector(ZohoSettings.model_validate(values), name=config.name,
                         source_fields=mapped_source_fields(mapping_file) if mapping_file else None,
                         token_store=token_store)
