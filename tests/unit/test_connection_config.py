"""crmsync.yaml connections: ${ENV} secrets, key-naming errors, shorthand, nothing secret in reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmsync.config.settings import load_settings
from crmsync.errors import ConfigError, NotFoundError

GOOD = """
connections:
  - name: sf-eu
    system: salesforce
    base_url: https://127.0.0.1:8700
    ca_bundle: certs/ca.pem
    credentials: {client_id: abc, client_secret: "${SF_SECRET}"}
    objects: {Lead: pull, Contact: push, Account: null}
"""


HUBSPOT = """
  - name: hs
    system: hubspot
    credentials: {access_token: literal-token}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "crmsync.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_connection_loads_with_secrets_from_the_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SF_SECRET", "s3cr3t-value")
    settings = load_settings(write(tmp_path, GOOD))
    connection = settings.connection("sf-eu")
    assert connection.secret("client_secret") == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(settings) and "s3cr3t-value" not in str(connection.model_dump())
    assert connection.pulled_objects() == ["Lead", "Account"]
    assert connection.pushed_objects() == ["Contact", "Account"]
    assert connection.ca_bundle == tmp_path / "certs" / "ca.pem"  # relative to the file


def test_a_missing_variable_blocks_only_its_connection_and_names_it(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SF_SECRET", raising=False)
    settings = load_settings(write(tmp_path, GOOD + HUBSPOT))  # loads: the other connection stays usable
    connection = settings.connection("sf-eu")
    reason = ("connection sf-eu: environment variable SF_SECRET (credentials.client_secret) is not set; export it "
              "or change the value in the configuration")
    assert connection.unavailable == reason and settings.connection("hs").unavailable is None
    with pytest.raises(ConfigError) as raised:
        connection.secret("client_secret")
    assert str(raised.value) == reason
    assert settings.connection("hs").secret("access_token") == "literal-token"


def test_a_missing_variable_outside_credentials_names_the_connection(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("SF_HOST", raising=False)
    with pytest.raises(ConfigError, match=r"connections\[sf-eu\]\.base_url: environment variable SF_HOST is not set"):
        load_settings(write(tmp_path, GOOD.replace("https://127.0.0.1:8700", "${SF_HOST}")))


@pytest.mark.parametrize(("text", "message"), [
    ("connections: [{name: x, system: pipedrive}]", r"connections\[x\]\.system: Input should be 'salesforce'"),
    ("connections: [{name: a, system: salesforce, objects: {Lead: sideways}}]",
     r"connections\[a\]\.objects\.Lead\.direction"),
    ("connections: [{name: a, system: salesforce}, {name: a, system: hubspot}]", "repeated: a"),
    ("connections: [{name: Bad Name, system: salesforce}]", r"connections\[Bad Name\]\.name"),
    ("connections: [{name: a, system: salesforce, interval_seconds: 0}]", r"connections\[a\]\.interval_seconds"),
])
def test_bad_connections_name_their_key(tmp_path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text))


def test_an_unknown_connection_lists_the_known_ones(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SF_SECRET", "x")
    settings = load_settings(write(tmp_path, GOOD))
    with pytest.raises(NotFoundError, match=r"no connection named 'hs'.*connections: sf-eu"):
        settings.connection("hs")


def test_connector_settings_errors_name_the_connection(tmp_path, monkeypatch) -> None:
    from crmsync.connectors.registry import build_connector

    monkeypatch.setenv("SF_SECRET", "x")
    connection = load_settings(write(tmp_path, GOOD)).connection("sf-eu")
    with pytest.raises(ConfigError, match=r"connection sf-eu \(salesforce\): .*username and password"):
        build_connector(connection)
    connection.credentials["api_key"] = connection.credentials["client_id"]
    with pytest.raises(ConfigError, match=r"unknown credential.*api_key"):
        build_connector(connection)
