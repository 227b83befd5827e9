"""Auth refresh, retries, API quota and error classification, with secrets kept out of every message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from salesforce_connector_support import SalesforceOrgAdmin, ids_of

from crmsync.connectors.base import (
    AuthenticationError,
    ConnectorError,
    QuotaExhausted,
    StreamPage,
    TransientError,
)
from crmsync.connectors.salesforce import SalesforceConnector

QUERY_PATH = "/services/data/*/query*"


def test_expired_token_is_refreshed_once_and_the_call_replayed(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    lead = org.create("Lead", LastName="A", Company="C")
    assert ids_of(connector.read("Lead", None)) == [lead] and connector.client.http.logins == 1
    assert org.admin("POST", "tokens/expire")["expired"] >= 1
    assert ids_of(connector.read("Lead", None)) == [lead]
    assert connector.client.http.logins == 2


def test_refresh_token_grant_logs_in_and_refreshes(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector]
) -> None:
    credentials = org.endpoint.credentials
    grant = org.http.post(f"{org.base_url}/services/oauth2/token", data={"grant_type": "password", **{
        key: credentials[key] for key in ("client_id", "client_secret", "username", "password")}}).json()
    connector = make_connector(username=None, password=None, refresh_token=grant["refresh_token"])
    assert connector.settings.effective_grant == "refresh_token"
    org.create("Account", Name="Acme")
    assert len(ids_of(connector.read("Account", None))) == 1
    org.admin("POST", "tokens/expire")
    assert len(ids_of(connector.read("Account", None))) == 1 and connector.client.http.logins == 2


def test_a_second_consecutive_auth_failure_is_an_authentication_error(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    connector.connect()  # logged in
    org.fault(kind="token_expired", path=QUERY_PATH, count=2)  # refused before and after the refresh
    with pytest.raises(AuthenticationError, match="refused again right after a token refresh"):
        list(connector.read("Lead", None))
    assert connector.client.http.logins == 2


def test_refused_credentials_never_leak_into_messages_reprs_or_logs(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector], caplog: pytest.LogCaptureFixture
) -> None:
    secret_password, secret_token = "Wr0ng-p4ssw0rd!", "sec-TOKEN-9876"
    connector = make_connector(password=secret_password, security_token=secret_token)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as caught:
        list(connector.read("Lead", None))
    assert "invalid_grant" in str(caught.value) and "username/password" in str(caught.value)
    client_secret = org.endpoint.credentials["client_secret"]
    seen = " ".join([str(caught.value), repr(caught.value), caplog.text, repr(connector.settings),
                     str(connector.settings.model_dump())])
    for secret in (secret_password, secret_token, client_secret):
        assert secret not in seen


def test_the_access_token_never_appears_in_errors_or_logs(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector], caplog: pytest.LogCaptureFixture
) -> None:
    connector = make_connector(external_id_field="Missing_Field__c")
    with caplog.at_level(logging.DEBUG), pytest.raises(ConnectorError) as caught:
        connector.fetch_by_external_ids("Lead", ["x"])  # 400 INVALID_FIELD: a plain ConnectorError
    assert type(caught.value) is ConnectorError and "HTTP 400 INVALID_FIELD" in str(caught.value)
    token = connector.client.http.access_token
    assert token not in str(caught.value) and token not in caplog.text


def test_server_errors_are_retried_within_the_budget_then_transient(
    org: SalesforceOrgAdmin, connector: SalesforceConnector, caplog: pytest.LogCaptureFixture
) -> None:
    org.create("Lead", LastName="A", Company="C")
    org.fault(kind="server_error", path=QUERY_PATH, count=2)
    with caplog.at_level(logging.WARNING):
        assert len(ids_of(connector.read("Lead", None))) == 1  # attempts 1 and 2 fail, 3 succeeds
    assert caplog.text.count("retrying in") == 2
    org.fault(status=503, path=QUERY_PATH, count=3, body=[{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}])
    with pytest.raises(TransientError, match="HTTP 503"):
        list(connector.read("Lead", None))


def test_timeouts_and_unreachable_hosts_are_transient(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector]
) -> None:
    org.create("Lead", LastName="A", Company="C")
    impatient = make_connector(timeout_seconds=0.3)
    impatient.connect()
    org.fault(kind="slow", path=QUERY_PATH, delay_seconds=1.0, count=1)
    assert len(ids_of(impatient.read("Lead", None))) == 1  # the timed-out attempt is retried
    unreachable = make_connector(login_url="https://127.0.0.1:9", max_attempts=2)
    with pytest.raises(TransientError, match="cannot reach the token endpoint"):
        list(unreachable.read("Lead", None))


def test_quota_refusal_stops_cleanly_and_keeps_the_pages_already_read(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    org.seed("Lead", 1000)
    pages: list[StreamPage] = []
    with pytest.raises(QuotaExhausted) as caught:
        for page in connector.read("Lead", None):
            pages.append(page)
            if len(pages) == 2:  # meanwhile another client spends the org's allocation
                org.admin("PUT", "quota", json={"daily_limit": 500, "used": 500})
    assert len(pages) == 2 and "REQUEST_LIMIT_EXCEEDED" in str(caught.value)
    assert caught.value.resume_at is not None
    assert timedelta(hours=23) < caught.value.resume_at - datetime.now(UTC) <= timedelta(hours=24)
    org.admin("PUT", "quota", json={"daily_limit": 100_000, "used": 0})  # a new day
    rest = list(connector.read("Lead", pages[-1].cursor))
    assert len(set(ids_of(pages)) | set(ids_of(rest))) == 1000 == len(ids_of(pages)) + len(ids_of(rest))


def test_the_quota_reserve_stops_before_the_limit(
    org: SalesforceOrgAdmin, make_connector: Callable[..., SalesforceConnector]
) -> None:
    org.seed("Lead", 2500)
    org.admin("PUT", "quota", json={"daily_limit": 100, "used": 80})
    connector = make_connector(page_size=200, quota_reserve=0.1)
    pages: list[StreamPage] = []
    with pytest.raises(QuotaExhausted) as caught:
        pages.extend(connector.read("Lead", None))
    assert org.usage()["used"] == 90  # stopped at the reserve line, ten calls short of the allocation
    assert caught.value.details == {"used": 90, "total": 100, "reserve": 0.1}
    assert 0 < len(pages) < 13 and "reserve" in str(caught.value)
    with pytest.raises(QuotaExhausted):  # the same connector keeps refusing until the window rolls over
        next(iter(connector.read("Lead", pages[-1].cursor)))
    org.admin("PUT", "quota", json={"daily_limit": 100_000, "used": 0})  # the next run, on a new day
    resumed = make_connector(page_size=200).read("Lead", pages[-1].cursor)
    assert len(ids_of(pages)) + len(ids_of(resumed)) == 2500


def test_query_errors_are_connector_errors_and_unknown_streams_are_refused(
    org: SalesforceOrgAdmin, connector: SalesforceConnector
) -> None:
    org.fault(status=400, path=QUERY_PATH, body=[{"errorCode": "MALFORMED_QUERY", "message": "unexpected token"}])
    with pytest.raises(ConnectorError, match="HTTP 400 MALFORMED_QUERY: unexpected token") as caught:
        list(connector.read("Lead", None))
    assert not isinstance(caught.value, TransientError)
    with pytest.raises(ConnectorError, match="no stream 'Case'"):
        list(connector.read("Case", None))
    with pytest.raises(ConnectorError, match="not a Salesforce cursor"):
        list(connector.read("Lead", {"modstamp": "yesterday-ish", "last_ids": []}))
    with pytest.raises(ConnectorError, match="timezone-aware"):
        list(connector.read("Lead", None, since=datetime(2026, 1, 1)))
