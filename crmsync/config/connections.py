"""Connections in crmsync.yaml: which account of which system, how to reach it, what flows which way.

Credentials are written as `${ENV_VAR}` references (or literals, for the sandbox) and held as SecretStr, so
neither a repr, a log line nor an error message can show them. A credential whose variable is not set makes
only its own connection unusable: the configuration still loads (status, review and the other connections
keep working), and whatever needs that connection's secrets gets a ConfigError naming the connection, the
key and the variable.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator

from crmsync.config.deletes import DEFAULT_DELETE_POLICY, DeletePolicy
from crmsync.errors import ConfigError

Direction = Literal["pull", "push", "both"]
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SYSTEMS = ("salesforce", "hubspot", "zoho", "stripe", "razorpay", "five9")


class ObjectFlow(BaseModel):
    """One object of a connection (`Lead`, `contacts` ...) and which way its changes flow."""

    model_config = ConfigDict(extra="forbid")
    direction: Direction = "both"

    @property
    def pulls(self) -> bool:
        return self.direction in ("pull", "both")

    @property
    def pushes(self) -> bool:
        return self.direction in ("push", "both")


class ConnectionConfig(BaseModel):
    """One connected account. `options` are connector settings (page sizes, retry limits ...) as the
    connector's own settings model names them; `credentials` are its secrets."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    system: Literal["salesforce", "hubspot", "zoho", "stripe", "razorpay", "five9"]
    base_url: str | None = None  # a sandbox, proxy or My Domain instead of the vendor's public endpoint
    ca_bundle: Path | None = None  # a private CA (the sandbox's), verified instead of the system store
    credentials: dict[str, SecretStr] = Field(default_factory=dict)
    objects: dict[str, ObjectFlow] = Field(default_factory=dict)
    interval_seconds: float = Field(default=300.0, gt=0)  # scheduled incremental sync
    jitter_seconds: float = Field(default=10.0, ge=0)
    mapping_dir: Path | None = None  # this connection's own mapping files, overriding the built-ins
    options: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    deletes: DeletePolicy = DEFAULT_DELETE_POLICY  # what a delete in this system does (config/deletes.py)
    # credential key -> the ${VARIABLES} it refers to that were not set when the configuration was loaded
    _unset: dict[str, list[str]] = PrivateAttr(default_factory=dict)

    @field_validator("objects", mode="before")
    @classmethod
    def _objects_shorthand(cls, value: Any) -> Any:
        # `objects: [Lead, Contact]` means both directions; `Lead: pull` is shorthand for {direction: pull}.
        if isinstance(value, list):
            return {str(name): {} for name in value}
        if isinstance(value, dict):
            return {name: {"direction": spec} if isinstance(spec, str) else (spec or {})
                    for name, spec in value.items()}
        return value

    def secret(self, key: str) -> str | None:
        """The credential's value; ConfigError when it refers to an environment variable that is not set."""
        if key in self._unset:
            raise ConfigError(self.unavailable or "")
        value = self.credentials.get(key)
        return value.get_secret_value() if value is not None else None

    def mark_unset(self, unset: dict[str, list[str]]) -> None:
        """Record credentials whose `${VAR}` was not set (see `load_settings`)."""
        self._unset = {key: list(names) for key, names in unset.items()}

    @property
    def unavailable(self) -> str | None:
        """Why this connection cannot reach its system (credentials refer to unset variables), or None."""
        if not self._unset:
            return None
        names = sorted({name for names in self._unset.values() for name in names})
        keys = ", ".join(f"credentials.{key}" for key in sorted(self._unset))
        return (f"connection {self.name}: environment variable{'s' if len(names) > 1 else ''} "
                f"{', '.join(names)} ({keys}) {'are' if len(names) > 1 else 'is'} not set; export "
                f"{'them' if len(names) > 1 else 'it'} or change the value in the configuration")

    def pulled_objects(self) -> list[str]:
        return [name for name, flow in self.objects.items() if flow.pulls]

    def pushed_objects(self) -> list[str]:
        return [name for name, flow in self.objects.items() if flow.pushes]


def expand_env(raw: Any, where: str = "", unset: dict[str, list[str]] | None = None) -> Any:
    """Replace `${VAR}` in every string of a loaded YAML tree.

    A variable that is not set is a ConfigError naming `where`, unless `unset` is given: then it becomes an
    empty string and its name is collected there under the key path it was found at.
    """
    if isinstance(raw, dict):
        return {key: expand_env(value, f"{where}.{key}" if where else str(key), unset) for key, value in raw.items()}
    if isinstance(raw, list):
        return [expand_env(value, f"{where}.{index}", unset) for index, value in enumerate(raw)]
    if isinstance(raw, str) and "${" in raw:
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in os.environ:
                return os.environ[name]
            if unset is None:
                raise ConfigError(f"{where}: environment variable {name} is not set; export it or change the value")
            unset.setdefault(where, []).append(name)
            return ""

        return ENV_REFERENCE.sub(substitute, raw)
    return raw
