"""Configuration of one Razorpay connection; the key secret and webhook secret are SecretStr."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class RazorpaySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: str
    key_secret: SecretStr
    base_url: str | None = None  # e.g. the sandbox; None = https://api.razorpay.com
    ca_bundle: Path | None = None  # a private CA (the sandbox's); REQUESTS_CA_BUNDLE is then ignored
    page_size: int = Field(default=100, ge=1, le=100)  # `count`, at most 100
    skip_cap: int = Field(default=10_000, ge=2)  # the largest skip + count the API serves; windows are split below it
    lookback_seconds: int = Field(default=3600, ge=0)  # re-read recent entities: lists only filter on created_at
    deal_reference_key: str = Field(default="deal_id", min_length=1)  # key in `notes`
    webhook_secret: SecretStr | None = None  # the endpoint's webhook secret (not the API key secret)
    max_attempts: int = Field(default=4, ge=1)
    retry_initial_seconds: float = Field(default=0.5, ge=0)
    retry_max_seconds: float = Field(default=30.0, ge=0)
    timeout_seconds: float = Field(default=60.0, gt=0)
