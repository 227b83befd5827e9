"""Configuration of one Stripe connection; the API key and webhook secrets are SecretStr (never in reprs or logs)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class StripeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr  # a restricted or secret key (sk_live_/sk_test_/rk_...)
    api_base: str | None = None  # e.g. the sandbox's base URL; None = https://api.stripe.com
    # A private CA (the sandbox's): verified with this file, with REQUESTS_CA_BUNDLE and proxies ignored.
    ca_bundle: Path | None = None
    page_size: int = Field(default=100, ge=1, le=100)  # Stripe's list maximum
    deal_reference_key: str = Field(default="deal_id", min_length=1, max_length=40)  # metadata key of a deal ref
    external_id_key: str = Field(default="crmsync_id", min_length=1, max_length=40)  # metadata key written back
    event_retention_days: int = Field(default=30, ge=1)  # Stripe keeps events 30 days
    webhook_secrets: list[SecretStr] = Field(default_factory=list)  # whsec_... (two during a rotation)
    webhook_tolerance_seconds: int = Field(default=300, ge=0)
    max_attempts: int = Field(default=4, ge=1)  # per API call, for 429/5xx/connection errors
    retry_initial_seconds: float = Field(default=0.5, ge=0)
    retry_max_seconds: float = Field(default=30.0, ge=0)
    timeout_seconds: float = Field(default=60.0, gt=0)
