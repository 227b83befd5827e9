"""A RazorpayConnector from a `connections:` entry of crmsync.yaml (`base_url` = the API base)."""

from __future__ import annotations

from pathlib import Path

from crmsync.config.connections import ConnectionConfig
from crmsync.connectors.razorpay import RazorpayConnector, RazorpaySettings
from crmsync.connectors.registry import settings_values
from crmsync.store.tokens import TokenStore

SECRET_KEYS = ("key_id", "key_secret", "webhook_secret")


def build_connector(config: ConnectionConfig, token_store: TokenStore | None,
                    mapping_file: Path | None) -> RazorpayConnector:
    values = settings_values(config, SECRET_KEYS)
    if config.base_url is not None:
        values["base_url"] = config.base_url
    return RazorpayConnector(RazorpaySettings.model_validate(values), name=config.name)
