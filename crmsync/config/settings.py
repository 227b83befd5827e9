"""crmsync's settings: one YAML file validated by pydantic, with environment overrides.

The file comes from `--config`, else `CRMSYNC_CONFIG`, else `./crmsync.yaml` when it exists; without one,
the defaults serve (SQLite file `crmsync.db`). `CRMSYNC_DATABASE_URL` overrides `database_url`.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crmsync.config.policy import MergePolicy
from crmsync.errors import ConfigError
from crmsync.sync_engine.identity import DEFAULT_MATCH_KEYS

DEFAULT_DATABASE_URL = "sqlite:///crmsync.db"
CONFIG_ENV = "CRMSYNC_CONFIG"
DATABASE_URL_ENV = "CRMSYNC_DATABASE_URL"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    database_url: str = DEFAULT_DATABASE_URL
    mapping_dir: Path | None = None
    default_region: str = "US"
    merge: MergePolicy = Field(default_factory=MergePolicy)
    # Match keys tried in order for records with no ExternalRef yet, per entity.
    identity: dict[str, list[str]] = Field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_MATCH_KEYS.items()})


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
    if os.environ.get(DATABASE_URL_ENV):
        raw["database_url"] = os.environ[DATABASE_URL_ENV]
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        where = str(path) if path else "settings"
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{where}: {problems}") from None
    if settings.mapping_dir is not None and path is not None and not settings.mapping_dir.is_absolute():
        settings.mapping_dir = path.parent / settings.mapping_dir
    return settings
