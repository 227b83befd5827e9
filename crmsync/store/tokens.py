"""OAuth tokens crmsync obtains for a connection, kept in the store encrypted at rest.

The key comes from CRMSYNC_SECRET_KEY (a Fernet key: `crmsync init` prints how to make one). Without it
crmsync refuses to store tokens rather than write them in clear; connectors then simply log in again on the
next run. A token that no longer decrypts (the key was rotated) is treated as absent, never as an error.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine, Table, select

from crmsync.errors import ConfigError
from crmsync.store.models import ConnectionToken

SECRET_KEY_ENV = "CRMSYNC_SECRET_KEY"
TOKEN: Table = ConnectionToken.__table__  # type: ignore[assignment]
log = logging.getLogger("crmsync.tokens")


class TokenStore(Protocol):
    """What a connector needs to keep its OAuth tokens between runs."""

    def load(self, connection: str) -> dict[str, Any] | None: ...

    def save(self, connection: str, token: dict[str, Any]) -> None: ...


def fernet_from_env() -> Fernet:
    key = os.environ.get(SECRET_KEY_ENV)
    if not key:
        raise ConfigError(
            f"{SECRET_KEY_ENV} is not set, so crmsync will not store OAuth tokens (they would sit in the database "
            "in clear). Create a key with `python -c 'from cryptography.fernet import Fernet; "
            f"print(Fernet.generate_key().decode())'` and export it as {SECRET_KEY_ENV}"
        )
    try:
        return Fernet(key.encode())
    except ValueError:
        raise ConfigError(f"{SECRET_KEY_ENV} is not a Fernet key (32 url-safe base64-encoded bytes)") from None


class EncryptedTokenStore:
    """Tokens per connection in `connection_token`, Fernet-encrypted."""

    def __init__(self, engine: Engine, fernet: Fernet) -> None:
        self.engine, self.fernet = engine, fernet

    def load(self, connection: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            ciphertext = conn.execute(select(TOKEN.c.ciphertext).where(TOKEN.c.connection == connection)).scalar()
        if ciphertext is None:
            return None
        try:
            loaded = json.loads(self.fernet.decrypt(ciphertext.encode()))
        except InvalidToken:
            log.warning("stored token of connection %s does not decrypt with the current %s; logging in again",
                        connection, SECRET_KEY_ENV)
            return None
        return loaded if isinstance(loaded, dict) else None

    def save(self, connection: str, token: dict[str, Any]) -> None:
        ciphertext = self.fernet.encrypt(json.dumps(token).encode()).decode()
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            updated = conn.execute(TOKEN.update().where(TOKEN.c.connection == connection)
                                   .values(ciphertext=ciphertext, updated_at=now)).rowcount
            if not updated:
                conn.execute(TOKEN.insert().values(connection=connection, ciphertext=ciphertext, updated_at=now))


class NoTokenStore:
    """Used without CRMSYNC_SECRET_KEY: nothing is kept, so every run logs in afresh."""

    def load(self, connection: str) -> dict[str, Any] | None:
        return None

    def save(self, connection: str, token: dict[str, Any]) -> None:
        return None


class UnkeptTokens(NoTokenStore):
    """Keeps nothing, and warns once per connection that asks for a token it would have kept: connections that
    never obtain one (Stripe, Razorpay, Five9, a HubSpot private app token) have nothing to lose and say
    nothing."""

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


def token_store_for(engine: Engine) -> EncryptedTokenStore | NoTokenStore:
    """The encrypted store when CRMSYNC_SECRET_KEY is set; otherwise one that keeps nothing (and says so for a
    connection that would have kept a token)."""
    if not os.environ.get(SECRET_KEY_ENV):
        return UnkeptTokens()
    return EncryptedTokenStore(engine, fernet_from_env())
