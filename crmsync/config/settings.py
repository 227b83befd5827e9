"""crmsync's settings: one YAML file validated by pydantic, with environment overrides.

The file comes from `--config`, else `CRMSYNC_CONFIG`, else `./crmsync.yaml` when it exists; without one,
the defaults serve (SQLite file `crmsync.db`). `CRMSYNC_DATABASE_URL` overrides `database_url`.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crmsync.config.connections import ConnectionConfig, expand_env
from crmsync.config.deletes import DeleteRail
from crmsync.config.policy import MergePolicy
from crmsync.errors import ConfigError, NotFoundError
from crmsync.sync_engine.identity import DEFAULT_MATCH_KEYS
from crmsync.sync_engine.payment_links import PaymentRules

DEFAULT_DATABASE_URL = "sqlite:///crmsync.db"
CONFIG_ENV = "CRMSYNC_CONFIG"
DATABASE_URL_ENV = "CRMSYNC_DATABASE_URL"


class OutboxSettings(BaseModel):
    """Write-back: how many items one push carries, how often a failing item is tried before it is a dead
    letter, and the backoff between tries."""

    model_config = ConfigDict(extra="forbid")
    batch_size: int = Field(default=200, ge=1, le=1000)
    max_attempts: int = Field(default=5, ge=1)
    retry_initial_seconds: float = Field(default=30.0, ge=0)
    retry_max_seconds: float = Field(default=3600.0, ge=0)
    interval_seconds: float = Field(default=30.0, gt=0)  # how often `serve` drains the outbox


class ServerSettings(BaseModel):
    """`crmsync serve`: where the webhook receiver listens and how its inbox is processed."""

    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None  # the URL vendors call, when a proxy sits in front (signatures cover it)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    inbox_batch_size: int = Field(default=500, ge=1)
    inbox_max_attempts: int = Field(default=5, ge=1)
    inbox_retry_seconds: float = Field(default=5.0, ge=0)
    inbox_poll_seconds: float = Field(default=0.2, gt=0)
    inbox_hold_seconds: float = Field(default=0.0, ge=0)  # let events wait (to batch them) before processing


class BackfillSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window_days: float = Field(default=30.0, gt=0)  # long ranges are sliced into windows this wide
    # Map and hash the next page in a forked worker process while this one stores the current page (Linux,
    # two or more cores). Off: everything runs in this process.
    mapping_worker: bool = True


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    database_url: str = DEFAULT_DATABASE_URL
    mapping_dir: Path | None = None
    default_region: str = "US"
    merge: MergePolicy = Field(default_factory=MergePolicy)
    # Match keys tried in order for records with no ExternalRef yet, per entity.
    identity: dict[str, list[str]] = Field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_MATCH_KEYS.items()})
    connections: list[ConnectionConfig] = Field(default_factory=list)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    backfill: BackfillSettings = Field(default_factory=BackfillSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    payments: PaymentRules = Field(default_factory=PaymentRules)
    deletes: DeleteRail = Field(default_factory=DeleteRail)
    config_file: Path | None = Field(default=None, exclude=True)  # where these settings came from

    @model_validator(mode="after")
    def _unique_connection_names(self) -> Settings:
        names = [c.name for c in self.connections]
        doubles = sorted({n for n in names if names.count(n) > 1})
        if doubles:
            raise ValueError(f"connection names must be unique; repeated: {', '.join(doubles)}")
        return self

    def connection(self, name: str) -> ConnectionConfig:
        for config in self.connections:
            if config.name == name:
                return config
        known = ", ".join(c.name for c in self.connections) or "none configured"
        raise NotFoundError(f"no connection named {name!r} in the configuration (connections: {known})")


def config_path(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    default = Path("crmsync.yaml")
    return default if default.exists() else None


def load_settings(explicit: Path | None = None) -> Settings:
    """Settings from the config file and environment; ConfigError names the file and key at fault."""
    path = config_path(explicit)
    raw: dict[str, object] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping of settings at the top level")
        raw = loaded or {}
    raw, unset = _expand_environment(raw)
    if os.environ.get(DATABASE_URL_ENV):
        raw["database_url"] = os.environ[DATABASE_URL_ENV]
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        where = str(path) if path else "settings"
        problems = "; ".join(f"{_key_path(raw, e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{where}: {problems}") from None
    if path is not None:  # relative paths in the file are relative to the file
        if settings.mapping_dir is not None and not settings.mapping_dir.is_absolute():
            settings.mapping_dir = path.parent / settings.mapping_dir
        for connection in settings.connections:
            for key in ("mapping_dir", "ca_bundle"):
                value = getattr(connection, key)
                if value is not None and not value.is_absolute():
                    setattr(connection, key, path.parent / value)
    for index, missing in unset.items():  # their connections load, but cannot be used until they are set
        settings.connections[index].mark_unset(missing)
    settings.config_file = path
    return settings


def _expand_environment(raw: dict[str, object]) -> tuple[dict[str, object], dict[int, dict[str, list[str]]]]:
    """`${VAR}` references expanded. A variable missing from a connection's credentials affects only that
    connection: it is returned (connection index -> credential key -> variables) instead of raised."""
    connections = raw.get("connections")
    if not isinstance(connections, list):
        return expand_env(raw), {}
    expanded: list[object] = []
    unset: dict[int, dict[str, list[str]]] = {}
    for index, entry in enumerate(connections):
        where = f"connections[{entry.get('name') or index}]" if isinstance(entry, dict) else f"connections.{index}"
        if not isinstance(entry, dict) or not isinstance(entry.get("credentials"), dict):
            expanded.append(expand_env(entry, where))
            continue
        missing: dict[str, list[str]] = {}
        credentials = expand_env(entry["credentials"], "", missing)
        expanded.append({**expand_env({k: v for k, v in entry.items() if k != "credentials"}, where),
                         "credentials": credentials})
        if missing:
            unset[index] = missing
    rest = expand_env({key: value for key, value in raw.items() if key != "connections"})
    return {**rest, "connections": expanded}, unset


def _key_path(raw: dict[str, object], loc: tuple[int | str, ...]) -> str:
    """`connections[sf-eu].credentials.client_id` rather than `connections.0.credentials.client_id`."""
    parts = [str(part) for part in loc]
    connections = raw.get("connections")
    if len(loc) > 1 and loc[0] == "connections" and isinstance(loc[1], int) and isinstance(connections, list):
        entry = connections[loc[1]] if loc[1] < len(connections) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        parts[:2] = [f"connections[{name if name else loc[1]}]"]
    return ".".join(parts) or "(top)"
