"""Helpers for the Stripe connector tests; fixtures are in the `stripe_connector_fixtures` plugin."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stripe_sandbox_support import StripeSandbox

from crmsync.connectors.base import StreamPage
from crmsync.connectors.stripe import StripeSettings

# Fast and deterministic: tiny backoffs, few attempts.
TEST_DEFAULTS: dict[str, Any] = {"retry_initial_seconds": 0.001, "retry_max_seconds": 0.01, "max_attempts": 3,
                                 "timeout_seconds": 10}


def settings_for(sandbox: StripeSandbox, **overrides: Any) -> StripeSettings:
    values = {"api_key": sandbox.api_key, "api_base": sandbox.base_url, "ca_bundle": sandbox.endpoint.ca_bundle,
              **TEST_DEFAULTS, **overrides}
    return StripeSettings(**values)


def ids_of(pages: Iterable[StreamPage]) -> list[str]:
    return [record.external_id for page in pages for record in page.records]


def last_cursor(pages: list[StreamPage]) -> dict[str, Any]:
    return dict(pages[-1].cursor)
