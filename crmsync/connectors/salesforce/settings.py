"""Configuration of one Salesforce connection; secrets are SecretStr so reprs and logs never show them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

GrantType = Literal["password", "refresh_token", "client_credentials"]


class SalesforceSettings(BaseModel):
    """How to reach and use one org. `grant_type` defaults to refresh_token when a refresh token is set,
    else password."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    login_url: str = "https://login.salesforce.com"  # token endpoint host (My Domain or the sandbox)
    client_id: str
    client_secret: SecretStr
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None  # appended to the password, as the password grant requires
    refresh_token: SecretStr | None = None
    grant_type: GrantType | None = None
    # A private CA: requests then ignores REQUESTS_CA_BUNDLE/proxy variables (trust_env off) and verifies
    # with this file. Without it the environment is honoured, as users behind proxies need.
    ca_bundle: Path | None = None
    api_version: str = Field(default="59.0", pattern=r"^\d{2}\.\d$")
    external_id_field: str = Field(default="crmsync_id__c", pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    integration_user_id: str | None = None  # changes last made by this user are our own echoes
    lookback_seconds: float = Field(default=60.0, ge=0)
    page_size: int = Field(default=2000, ge=200, le=2000)  # REST batchSize hint
    bulk_threshold: int | None = Field(default=10_000, ge=0)  # rows at which backfills use Bulk 2.0; None = never
    bulk_page_size: int = Field(default=50_000, ge=1)  # maxRecords per Bulk result (locator) page
    bulk_poll_seconds: int = Field(default=2, ge=0)
    write_batch_size: int = Field(default=200, ge=1, le=200)
    quota_reserve: float = Field(default=0.1, ge=0, lt=1)  # share of the daily API allocation left untouched
    max_attempts: int = Field(default=4, ge=1)  # per HTTP call, for 5xx, timeouts and dropped connections
    retry_initial_seconds: float = Field(default=1.0, ge=0)
    retry_max_seconds: float = Field(default=30.0, ge=0)
    timeout_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _credentials_fit_the_grant(self) -> SalesforceSettings:
        grant = self.effective_grant
        if grant == "password" and (not self.username or self.password is None):
            raise ValueError("the password grant needs username and password (or set refresh_token)")
        if grant == "refresh_token" and self.refresh_token is None:
            raise ValueError("grant_type refresh_token needs refresh_token")
        return self

    @property
    def effective_grant(self) -> GrantType:
        if self.grant_type is not None:
            return self.grant_type
        return "refresh_token" if self.refresh_token is not None else "password"

    @property
    def token_url(self) -> str:
        return self.login_url.rstrip("/") + "/services/oauth2/token"
