"""A StripeConnector from a `connections:` entry of crmsync.yaml (`base_url` = the API base)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.registry import settings_values
from crmsync.connectors.stripe import StripeConnector, StripeSettings
from crmsync.errors import ConfigError
from crmsync.store.tokens import TokenStore

SECRET_KEYS = ("api_key", "webhook_secret", "webhook_secret_previous")


def build_connector(config: ConnectionConfig, token_store: TokenStore | None,
                    mapping_file: Path | None) -> StripeConnector:
    values: dict[str, Any] = settings_values(config, SECRET_KEYS)
    # Two webhook secrets while one is rotated out; the settings hold them as one list.
    secrets = [values.pop(key) for key in ("webhook_secret", "webhook_secret_previous") if key in values]
    if secrets:
        if "webhook_secrets" in values:
            raise ConfigError(f"connection {config.name}: give webhook secrets as credentials, not options")
        values["webhook_secrets"] = secrets
    if config.base_url is not None:
        values["api_base"] = config.base_url
    return StripeConnector(StripeSettings.model_validate(values), name=config.name)
