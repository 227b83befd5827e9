"""A SalesforceConnector from a `connections:` entry of crmsync.yaml."""

from __future__ import annotations

from pathlib import Path

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.registry import settings_values
from crmsync.connectors.salesforce import SalesforceConnector, SalesforceSettings
from crmsync.connectors.salesforce.streams import mapped_source_fields
from crmsync.store.tokens import TokenStore

SECRET_KEYS = ("client_id", "client_secret", "username", "password", "security_token", "refresh_token",
               "webhook_token")
RECEIVER_KEYS = ("webhook_token",)  # used by the webhook adapter, not by the API client


def build_connector(config: ConnectionConfig, token_store: TokenStore | None,
                    mapping_file: Path | None) -> SalesforceConnector:
    values = settings_values(config, SECRET_KEYS)
    for key in RECEIVER_KEYS:
        values.pop(key, None)
    if config.base_url is not None:
        values["login_url"] = config.base_url
    return SalesforceConnector(SalesforceSettings.model_validate(values), name=config.name,
                               source_fields=mapped_source_fields(mapping_file) if mapping_file else None,
                               token_store=token_store)
