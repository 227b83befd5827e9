"""Stripe emulator fixtures, loaded by test modules with `pytest_plugins = ["stripe_fixtures"]`.

A plugin is registered once per session, so every module shares one emulator (reset before each test) and
one parsed copy of Stripe's OpenAPI spec.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests
import stripe
from sandbox_support import running_emulator
from stripe_sandbox_support import SPEC_PATH, STRIPE_OPTIONS, StripeSandbox, load_spec_validator


@pytest.fixture(scope="session")
def stripe_emulator() -> Iterator[StripeSandbox]:
    with running_emulator("stripe", STRIPE_OPTIONS) as (runner, http):
        sandbox = StripeSandbox(runner.endpoints["stripe"], http, runner)
        try:
            yield sandbox
        finally:
            for session in sandbox.sessions:
                session.close()


@pytest.fixture
def stripe_sandbox(stripe_emulator: StripeSandbox) -> StripeSandbox:
    """An empty account, real-time clock, no faults or webhook endpoints."""
    stripe_emulator.admin("POST", "reset")
    stripe_emulator.admin("DELETE", "listeners")
    return stripe_emulator


@pytest.fixture
def stripe_client(stripe_sandbox: StripeSandbox) -> stripe.StripeClient:
    return stripe_sandbox.client()


@pytest.fixture(scope="session")
def stripe_spec() -> Callable[[str, str, requests.Response], None]:
    """Validate a raw emulator response against Stripe's spec3.yaml (parsed lazily, once per session)."""
    if not SPEC_PATH.is_file():
        pytest.skip(f"Stripe's OpenAPI spec is not at {SPEC_PATH} (see ../shared/specs/SOURCES.md)")
    return load_spec_validator()
