"""ZohoConnector notifications: subscribe, renew before expiry, verify token and channel, fetch ids."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sandbox_support import LocalListener

from crmsync.connectors.zoho import NotificationRejected, verify_notification

if TYPE_CHECKING:
    from zoho_sandbox_support import ZohoSandbox

    from crmsync.connectors.zoho import ZohoConnector

pytest_plugins = ["zoho_sandbox_support"]  # fixtures; imported by pytest so its asserts are rewritten

TOKEN = "zoho-channel-secret-token"


@pytest.fixture
def listener() -> Iterator[LocalListener]:
    receiver = LocalListener(lambda body: (200, b"{}"), path="/zoho/notify")
    yield receiver
    receiver.close()


def test_callbacks_verify_and_lead_to_fetched_records(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector], listener: LocalListener) -> None:
    connector = make_zoho_connector(notify_url=listener.url, notification_token=TOKEN)
    expiry = connector.subscribe()
    assert expiry > datetime.now(UTC) + timedelta(hours=23)
    lead = zoho.create("Leads", Last_Name="Hopper", Email="grace@example.com")
    assert listener.answered.wait(5)
    notification = connector.verify_notification(listener.requests[0][1])
    assert (notification.module, notification.operation, notification.ids) == ("Leads", "insert", (lead,))
    [record] = connector.records_for(notification)
    assert (record.external_id, record.payload["Email"]) == (lead, "grace@example.com")


def test_verify_rejects_a_wrong_token_or_channel_in_constant_time() -> None:
    body = b'{"token": "zoho-channel-secret-token", "channel_id": "77", "module": "Leads", "ids": ["1"], ' \
           b'"operation": "delete", "server_time": 1767225600000}'
    assert verify_notification(body, TOKEN, "77").server_time == datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(NotificationRejected) as wrong_token:
        verify_notification(body, "another-token", "77")
    assert "zoho-channel-secret-token" not in str(wrong_token.value)
    with pytest.raises(NotificationRejected):
        verify_notification(body, TOKEN, "78")
    with pytest.raises(NotificationRejected):
        verify_notification(b"not json", TOKEN, "77")


def test_renew_extends_before_expiry_and_resubscribes_after_it(
        zoho: ZohoSandbox, make_zoho_connector: Callable[..., ZohoConnector], listener: LocalListener) -> None:
    connector = make_zoho_connector(notify_url=listener.url, notification_token=TOKEN, channel_lifetime_seconds=7200,
                                    renew_before_seconds=600)
    now = datetime.now(UTC)
    first = connector.subscribe(now)
    assert connector.renew_if_needed(now + timedelta(minutes=30)) is False
    assert connector.renew_if_needed(now + timedelta(minutes=115)) is True
    assert connector.channel.expires_at is not None and connector.channel.expires_at > first
    zoho.advance(5 * 3600)  # the channel (and the token) expire on the sandbox clock
    assert zoho.admin("GET", "listeners") == []
    zoho.create("Leads", Last_Name="Unheard")
    assert not listener.answered.wait(0.3)
    later = now + timedelta(hours=5)
    assert connector.renew_if_needed(later) is True  # PUT finds no channel, so it subscribes again
    assert [c["channel_id"] for c in zoho.admin("GET", "listeners")] == [connector.settings.channel_id]
    zoho.create("Leads", Last_Name="Heard")
    assert listener.answered.wait(5)
    assert verify_notification(listener.requests[-1][1], TOKEN, connector.settings.channel_id).operation == "insert"
