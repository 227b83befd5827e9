"""API usage header, daily quota, and injected faults as simple-salesforce sees them."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sandbox_support import SalesforceSandbox, error_code
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceGeneralError, SalesforceRefusedRequest


def test_limit_info_header_is_parsed_into_api_usage(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("PUT", "quota", json={"daily_limit": 15000, "used": 41})
    sf.query("SELECT Id FROM Lead")
    assert sf.api_usage["api-usage"].used == 42 and sf.api_usage["api-usage"].total == 15000
    lead = sf.Lead  # each attribute access builds a new SFType, which keeps its own api_usage
    lead.describe()
    assert lead.api_usage["api-usage"].used == 43
    assert sf.limits()["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - 44}


def test_spent_quota_is_403_request_limit_exceeded(
    sandbox: SalesforceSandbox, sf: Salesforce, make_client: Callable[..., Salesforce]
) -> None:
    sandbox.admin("PUT", "quota", json={"daily_limit": 5, "used": 4})
    sf.query("SELECT Id FROM Lead")
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT Id FROM Lead")
    assert caught.value.status == 403
    assert caught.value.content == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    sandbox.admin("POST", "clock/advance", json={"seconds": 86400})  # a new day, a new allocation
    assert make_client().query("SELECT COUNT() FROM Lead")["totalSize"] == 0  # (the old token has expired)


def test_server_error_fault_fires_count_times(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("POST", "faults", json={"kind": "server_error", "path": "/services/data/*/query*", "count": 2})
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as caught:
            sf.query("SELECT Id FROM Lead")
        assert caught.value.status == 500 and error_code(caught.value) == "UNKNOWN_EXCEPTION"
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    assert sandbox.admin("GET", "faults")["pending"] == []


def test_custom_503_and_rate_limited_faults(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("POST", "faults", json={"status": 503, "body": [{"errorCode": "SERVER_UNAVAILABLE",
                                                                   "message": "down"}], "method": "POST"})
    sandbox.admin("POST", "faults", json={"kind": "rate_limited", "path": "*/sobjects/Lead/describe*"})
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0  # GET is not matched by the POST fault
    with pytest.raises(SalesforceGeneralError) as unavailable:
        sf.Lead.create({"LastName": "x", "Company": "y"})
    assert unavailable.value.status == 503
    with pytest.raises(SalesforceRefusedRequest) as limited:
        sf.Lead.describe()
    assert error_code(limited.value) == "REQUEST_LIMIT_EXCEEDED"


def test_slow_fault_delays_but_answers(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("POST", "faults", json={"kind": "slow", "path": "*/query*", "delay_seconds": 0.3})
    started = time.monotonic()
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    sf.query("SELECT COUNT() FROM Lead")
    assert time.monotonic() - started < 0.3


def test_token_expired_fault_and_clear(sandbox: SalesforceSandbox, sf: Salesforce) -> None:
    sandbox.admin("POST", "faults", json={"kind": "token_expired", "count": None})
    for _ in range(2):
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT Id FROM Lead")
    sandbox.admin("DELETE", "faults")
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_unknown_fault_kind_is_rejected(sandbox: SalesforceSandbox) -> None:
    response = sandbox.http.post(f"{sandbox.base_url}/__sandbox/faults", json={"kind": "meteor"})
    assert response.status_code == 400 and "unknown fault kind" in response.json()["error"]
