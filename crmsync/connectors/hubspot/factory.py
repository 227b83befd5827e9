"""A HubSpotConnector from a `connections:` entry of crmsync.yaml (`base_url` = the API host)."""

from __future__ import annotations

from pathlib import Path

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.hubspot import HubSpotConnector, HubSpotSettings
from crmsync.connectors.hubspot.streams import mapped_properties
from crmsync.connectors.registry import settings_values
from crmsync.store.tokens import TokenStore

SECRET_KEYS = ("access_token", "client_id", "client_secret", "refresh_token")


def build_connector(config: ConnectionConfig, token_store: TokenStore | None,
                    mapping_file: Path | None) -> HubSpotConnector:
    values = settings_values(config, SECRET_KEYS)
    if config.base_url is not None:
        values["base_url"] = config.base_url
    return HubSpotConnector(HubSpotSettings.model_validate(values), name=config.name,
                            source_properties=mapped_properties(mapping_file) if mapping_file else None,
                            token_store=token_store)
