"""Configuration of one HubSpot connection; secrets are SecretStr so reprs and logs never show them."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class HubSpotSettings(BaseModel):
    """A private-app token (`access_token`), or an OAuth app (`client_id`, `client_secret`, `refresh_token`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = "https://api.hubapi.com"
    access_token: SecretStr | None = None  # private app: never expires
    client_id: str | None = None
    client_secret: SecretStr | None = None  # also the key of webhook signatures
    refresh_token: SecretStr | None = None
    # A private CA (the sandbox's); without it the system trust store is used.
    ca_bundle: Path | None = None
    search_page_size: int = Field(default=200, ge=1, le=200)
    list_page_size: int = Field(default=100, ge=1, le=100)
    write_batch_size: int = Field(default=100, ge=1, le=100)
    search_cap: int = Field(default=10_000, ge=1)  # HubSpot serves no search result past this offset
    unique_property: str = Field(default="crmsync_id", pattern=r"^[a-z][a-z0-9_]*$")
    create_unique_property: bool = True  # define `unique_property` in the portal when it is missing
    max_attempts: int = Field(default=6, ge=1)  # per call, for 5xx, timeouts, dropped connections and 429s
    retry_initial_seconds: float = Field(default=1.0, ge=0)
    retry_max_seconds: float = Field(default=30.0, ge=0)
    rate_limit_max_wait_seconds: float = Field(default=11.0, ge=0)  # longest single wait a 429 may ask for
    token_refresh_attempts: int = Field(default=5, ge=1)
    timeout_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> HubSpotSettings:
        oauth = [self.client_id, self.client_secret, self.refresh_token]
        if self.access_token is None and any(value is None for value in oauth):
            raise ValueError("set access_token (a private-app token), or client_id, client_secret and refresh_token "
                             "(an OAuth app)")
        return self

    @property
    def uses_oauth(self) -> bool:
        return self.access_token is None
