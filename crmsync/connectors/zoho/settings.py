"""Configuration of one Zoho CRM connection; secrets are SecretStr so reprs and logs never show them."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# Zoho's accounts servers; the refresh token only works at the one of the data centre that issued it.
ACCOUNTS_URLS = {
    "com": "https://accounts.zoho.com", "eu": "https://accounts.zoho.eu", "in": "https://accounts.zoho.in",
    "com.au": "https://accounts.zoho.com.au", "jp": "https://accounts.zoho.jp", "com.cn": "https://accounts.zoho.com.cn",
    "ca": "https://accounts.zohocloud.ca", "sa": "https://accounts.zoho.sa",
}


class ZohoSettings(BaseModel):
    """How to reach and use one Zoho org. Give `dc` (com, eu, in ...) or an explicit `accounts_url`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dc: str = "com"
    accounts_url: str | None = None  # overrides the data centre's accounts server (the sandbox uses this)
    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr
    # A private CA: requests then ignores REQUESTS_CA_BUNDLE/proxy variables (trust_env off) and verifies
    # with this file. Without it the environment is honoured, as users behind proxies need.
    ca_bundle: Path | None = None
    external_id_field: str = Field(default="crmsync_id", pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    page_size: int = Field(default=200, ge=1, le=200)
    write_batch_size: int = Field(default=100, ge=1, le=100)
    credits_reserve: float = Field(default=0.1, ge=0, lt=1)  # share of the daily API credits left untouched
    max_attempts: int = Field(default=4, ge=1)  # per HTTP call, for 5xx, 429 (concurrency), dropped connections
    retry_initial_seconds: float = Field(default=1.0, ge=0)
    retry_max_seconds: float = Field(default=30.0, ge=0)
    timeout_seconds: float = Field(default=60.0, gt=0)
    # Notifications (`crmsync serve`): where Zoho posts, the channel, and the token Zoho echoes back to us.
    notify_url: str | None = None
    channel_id: str = Field(default="1000000068001", pattern=r"^\d{1,19}$")
    notification_token: SecretStr | None = None
    channel_lifetime_seconds: float = Field(default=86_400, gt=60, le=7 * 86_400)
    renew_before_seconds: float = Field(default=3_600, ge=0)

    @property
    def token_url(self) -> str:
        base = self.accounts_url or ACCOUNTS_URLS.get(self.dc)
        if base is None:
            raise ValueError(f"unknown Zoho data centre {self.dc!r}; use one of {', '.join(ACCOUNTS_URLS)} "
                             "or set accounts_url")
        return base.rstrip("/") + "/oauth/v2/token"
