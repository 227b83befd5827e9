"""Configuration of one Five9 domain connection; the password and the web-connector secret are SecretStr."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator

DEFAULT_BASE_URL = "https://api.five9.com"  # EU domains: https://api.five9.eu


class Five9Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str  # an API user with the Reporting role
    password: SecretStr
    base_url: str = DEFAULT_BASE_URL  # the sandbox's base URL in tests and the demo
    api_version: str = Field(default="v12", pattern=r"^v\d+$")
    # A private CA (the sandbox's): verified with this file, REQUESTS_CA_BUNDLE and proxies then ignored.
    ca_bundle: Path | None = None
    time_zone: str = "America/Los_Angeles"  # the domain's zone: report and web-connector times are written in it
    default_region: str = "US"  # for ANI/DNIS written without a country code
    # Backfill through the Call Log report.
    report_folder: str = "Call Log Reports"
    report_name: str = "Call Log"
    max_rows: int = Field(default=50_000, ge=2)  # the CSV row cap; windows are split to stay below it
    window_hours: float = Field(default=24.0, gt=0)  # first window size; shrinks on the cap, grows when sparse
    max_window_hours: float = Field(default=7 * 24.0, gt=0)
    min_window_seconds: int = Field(default=60, ge=1)  # below this a full window is an error, not a split
    page_size: int = Field(default=1000, ge=1)  # records per StreamPage (one report window can be many pages)
    settle_seconds: float = Field(default=3600.0, ge=0)  # incremental reads stop this far before now: calls
    # still in progress are not in the Call Log yet (the web connector delivers them in real time)
    default_history_days: float = Field(default=7.0, gt=0)  # the first incremental read starts this far back
    poll_timeout_seconds: int = Field(default=5, ge=0)  # isReportRunning long-poll
    poll_interval_seconds: float = Field(default=1.0, ge=0)
    max_polls: int = Field(default=120, ge=1)
    max_attempts: int = Field(default=4, ge=1)  # per SOAP call, for 5xx and dropped connections
    retry_initial_seconds: float = Field(default=1.0, ge=0)
    retry_max_seconds: float = Field(default=30.0, ge=0)
    timeout_seconds: float = Field(default=120.0, gt=0)
    # Real time: the web connector's constant parameter that carries the shared secret.
    web_connector_secret: SecretStr | None = None
    secret_param: str = Field(default="crmsync_token", min_length=1)
    bare_duration_unit: Literal["ms", "s"] = "ms"  # a web-connector duration written as a bare number
    # Emit the caller's number as a `contacts` record before each call, so the call joins the lead with that phone.
    # An unknown number makes no lead: the built-in five9.yaml maps `contacts` with `creates: false` (a mapping
    # override with `creates: true` turns every unknown caller into a phone-only lead). `create_unknown_leads`
    # is this option's old name.
    link_callers: bool = Field(default=True, validation_alias=AliasChoices("link_callers", "create_unknown_leads"))

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use the IANA name of the Five9 domain's zone, "
                             "e.g. America/Los_Angeles") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def wsdl_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/wsadmin/{self.api_version}/?wsdl&user={self.username}"
