"""OAuth tokens at rest: Fernet-encrypted with CRMSYNC_SECRET_KEY, refused without it."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from crmsync.errors import ConfigError
from crmsync.store.models import ConnectionToken
from crmsync.store.tokens import EncryptedTokenStore, NoTokenStore, fernet_from_env, token_store_for


def test_tokens_are_stored_encrypted_and_read_back(engine, monkeypatch) -> None:
    monkeypatch.setenv("CRMSYNC_SECRET_KEY", Fernet.generate_key().decode())
    store = token_store_for(engine)
    assert isinstance(store, EncryptedTokenStore)
    store.save("sf-a", {"access_token": "00Dxx!very-secret", "instance_url": "https://x"})
    store.save("sf-a", {"access_token": "00Dxx!newer-secret", "instance_url": "https://x"})
    with engine.connect() as conn:
        rows = conn.execute(select(ConnectionToken.ciphertext)).scalars().all()
    assert len(rows) == 1 and "secret" not in rows[0]
    assert store.load("sf-a") == {"access_token": "00Dxx!newer-secret", "instance_url": "https://x"}
    assert store.load("sf-b") is None


def test_a_rotated_key_means_logging_in_again_not_an_error(engine, monkeypatch) -> None:
    EncryptedTokenStore(engine, Fernet(Fernet.generate_key())).save("sf-a", {"access_token": "t"})
    assert EncryptedTokenStore(engine, Fernet(Fernet.generate_key())).load("sf-a") is None


def test_without_a_key_nothing_is_stored_and_the_reason_is_given(engine, monkeypatch) -> None:
    monkeypatch.delenv("CRMSYNC_SECRET_KEY", raising=False)
    assert isinstance(token_store_for(engine), NoTokenStore)
    with pytest.raises(ConfigError, match="CRMSYNC_SECRET_KEY is not set, so crmsync will not store OAuth tokens"):
        fernet_from_env()
    monkeypatch.setenv("CRMSYNC_SECRET_KEY", "not-a-key")
    with pytest.raises(ConfigError, match="not a Fernet key"):
        fernet_from_env()
