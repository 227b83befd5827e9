"""Stripe connector fixtures (a plugin): `pytest_plugins = ["stripe_fixtures", "stripe_connector_fixtures"]`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sandbox_support import closing_all
from stripe_connector_support import settings_for
from stripe_sandbox_support import StripeSandbox

from crmsync.connectors.stripe import StripeConnector


@pytest.fixture
def make_stripe_connector(stripe_sandbox: StripeSandbox) -> Iterator[Callable[..., StripeConnector]]:
    def make(name: str = "stripe-test", **overrides: Any) -> StripeConnector:
        return StripeConnector(settings_for(stripe_sandbox, **overrides), name=name)

    with closing_all(make) as tracked:
        yield tracked


@pytest.fixture
def stripe_connector(make_stripe_connector: Callable[..., StripeConnector]) -> StripeConnector:
    return make_stripe_connector(page_size=2)
