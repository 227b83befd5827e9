"""Razorpay fixtures (a plugin): `pytest_plugins = ["razorpay_fixtures"]`; one emulator per session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import razorpay
from razorpay_sandbox_support import RAZORPAY_OPTIONS, RazorpaySandbox, settings_for
from sandbox_support import closing_all, running_emulator

from crmsync.connectors.razorpay import RazorpayConnector


@pytest.fixture(scope="session")
def razorpay_emulator() -> Iterator[RazorpaySandbox]:
    with running_emulator("razorpay", RAZORPAY_OPTIONS) as (runner, http):
        yield RazorpaySandbox(runner.endpoints["razorpay"], http)


@pytest.fixture
def razorpay_sandbox(razorpay_emulator: RazorpaySandbox) -> RazorpaySandbox:
    """An empty account, real-time clock, no faults or listeners, the default skip cap."""
    razorpay_emulator.admin("POST", "reset")
    return razorpay_emulator


@pytest.fixture
def razorpay_client(razorpay_sandbox: RazorpaySandbox) -> Iterator[razorpay.Client]:
    client = razorpay_sandbox.client()
    yield client
    client.session.close()


@pytest.fixture
def make_razorpay_connector(razorpay_sandbox: RazorpaySandbox) -> Iterator[Callable[..., RazorpayConnector]]:
    def make(name: str = "razorpay-test", **overrides: Any) -> RazorpayConnector:
        return RazorpayConnector(settings_for(razorpay_sandbox, **overrides), name=name)

    with closing_all(make) as tracked:
        yield tracked
