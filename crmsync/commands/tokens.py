"""Which token store a command's connections get.

With CRMSYNC_SECRET_KEY the encrypted store keeps OAuth tokens between runs. Without it nothing is kept, and
the warning that says so is given only for a connection that actually tries to load or keep a token (the
OAuth logins of Salesforce, Zoho and HubSpot apps): connections that never obtain one (Stripe, Razorpay,
Five9, a HubSpot private app token) have nothing to lose and say nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from sqlalchemy import Engine

from crmsync.store.tokens import SECRET_KEY_ENV, EncryptedTokenStore, TokenStore, fernet_from_env

log = logging.getLogger("crmsync.tokens")


class UnkeptTokens:
    """Keeps nothing, and warns once per connection that asks for a token it would have kept."""

    def __init__(self) -> None:
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def _warn_once(self, connection: str) -> None:
        with self._lock:
            if connection in self._warned:
                return
            self._warned.add(connection)
        log.warning("%s: %s is not set, so the OAuth token this connection obtains is not kept; every run "
                    "logs in again", connection, SECRET_KEY_ENV)

    def load(self, connection: str) -> dict[str, Any] | None:
        self._warn_once(connection)
        return None

    def save(self, connection: str, token: dict[str, Any]) -> None:
        self._warn_once(connection)


def token_store(engine: Engine) -> TokenStore:
    if os.environ.get(SECRET_KEY_ENV):
        return EncryptedTokenStore(engine, fernet_from_env())
    return UnkeptTokens()
