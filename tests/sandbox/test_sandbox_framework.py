"""The vendor-neutral sandbox pieces: clock, fault injector, TLS, registry/runner, deterministic seeding."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sandbox_support import SalesforceSandbox
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crmsync.sandbox import Emulator, EmulatorSettings, SandboxClock, SandboxRunner, register_emulator
from crmsync.sandbox.framework import FaultInjector, FaultTemplate, SandboxAdminError, SandboxTls
from crmsync.sandbox.framework.emulator import EMULATOR_REGISTRY, get_emulator_factory


def test_clock_runs_in_real_time_and_can_be_moved_and_frozen() -> None:
    clock = SandboxClock()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)
    clock.advance(3600)
    assert timedelta(minutes=59) < clock.now() - datetime.now(UTC) < timedelta(minutes=61)
    moment = datetime(2024, 1, 1, 12, 0)
    clock.set(moment, freeze=True)  # naive means UTC
    time.sleep(0.01)
    assert clock.now() == moment.replace(tzinfo=UTC) and clock.frozen
    assert clock.advance(1.5) == datetime(2024, 1, 1, 12, 0, 1, 500000, tzinfo=UTC)
    clock.unfreeze()
    time.sleep(0.01)
    assert clock.now() > datetime(2024, 1, 1, 12, 0, 1, 500000, tzinfo=UTC) and not clock.frozen
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)


def test_fault_injector_matches_path_and_method_and_counts_down() -> None:
    faults = FaultInjector({"server_error": FaultTemplate(500, {"error": "x"}), "slow": FaultTemplate(None, None, {},
                                                                                                       1.0)})
    faults.inject("server_error", path="/api/*", method="GET", count=2)
    assert faults.take("POST", "/api/x") is None
    assert faults.take("GET", "/other") is None
    assert [faults.take("GET", "/api/x") is not None for _ in range(3)] == [True, True, False]
    forever = faults.inject("slow", delay_seconds=0.0, status=502, count=None)
    assert [faults.take("GET", "/any") is forever for _ in range(3)] == [True, True, True]
    faults.clear()
    assert faults.pending() == []
    with pytest.raises(ValueError, match="unknown fault kind"):
        faults.inject("meteor")
    with pytest.raises(ValueError, match="needs a status code"):
        faults.inject("custom")


def test_tls_reuses_the_ca_in_a_chosen_directory_and_cleans_up_temp_ones(tmp_path: Path) -> None:
    first = SandboxTls(tmp_path)
    ca = first.files.ca_bundle.read_bytes()
    second = SandboxTls(tmp_path)
    assert second.files.ca_bundle.read_bytes() == ca  # users trust ca.pem once
    assert second.files.server_cert.read_bytes() != b""
    second.cleanup()
    assert first.files.ca_bundle.exists()  # a user-chosen directory is kept
    temporary = SandboxTls()
    assert temporary.files.ca_bundle.exists()
    temporary.cleanup()
    assert not temporary.files.directory.exists()


def _create_echo_emulator(settings: EmulatorSettings) -> Emulator:
    """The smallest possible vendor: how HubSpot, Zoho, Stripe... plug in."""

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"vendor": "echo", "status": "ok"})

    async def whoami(_: Request) -> JSONResponse:
        return JSONResponse({"base_url": settings.base_url, "now": settings.clock.now().isoformat()})

    app = Starlette(routes=[Route("/__sandbox/health", health), Route("/whoami", whoami)])
    return Emulator("echo", app, {"api_key": "echo-key"}, backend=None)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_registered_vendor_runs_on_a_chosen_port_with_tls(tmp_path: Path) -> None:
    register_emulator("echo", _create_echo_emulator)
    try:
        port = _free_port()
        clock = SandboxClock()
        clock.set(datetime(2030, 1, 1), freeze=True)
        with SandboxRunner(["echo"], ports={"echo": port}, ca_dir=tmp_path, clock=clock) as runner:
            endpoint = runner.endpoints["echo"]
            assert endpoint.base_url == f"https://127.0.0.1:{port}"
            assert endpoint.credentials == {"api_key": "echo-key"}
            assert endpoint.ca_bundle == str(tmp_path / "ca.pem")
            with endpoint.requests_session() as http:
                body: dict[str, Any] = http.get(f"{endpoint.base_url}/whoami").json()
                assert http.get(f"https://localhost:{port}/whoami").status_code == 200  # cert covers localhost
            assert body == {"base_url": endpoint.base_url, "now": "2030-01-01T00:00:00+00:00"}
        assert runner.endpoints == {}
    finally:
        EMULATOR_REGISTRY.pop("echo", None)
    with pytest.raises(SandboxAdminError, match="no sandbox emulator for 'echo'"):
        get_emulator_factory("echo")


def test_same_faker_seed_gives_the_same_records(sandbox: SalesforceSandbox) -> None:
    def seeded(seed: int) -> list[dict[str, Any]]:
        sandbox.admin("POST", "reset")
        sandbox.admin("POST", "seed", json={"object": "Account", "count": 5, "seed": seed})
        sandbox.admin("POST", "seed", json={"object": "Contact", "count": 20, "seed": seed})
        volatile = {"CreatedDate", "LastModifiedDate", "SystemModstamp"}
        records = sandbox.admin("GET", "records/Contact")
        return [{k: v for k, v in record.items() if k not in volatile} for record in records]

    first, again, other = seeded(7), seeded(7), seeded(8)
    assert first == again
    assert first != other
    assert all(record["AccountId"].startswith("001") for record in first)
    assert len({record["Email"] for record in first}) == 20


def test_admin_api_validates_requests(sandbox: SalesforceSandbox) -> None:
    missing = sandbox.http.post(f"{sandbox.base_url}/__sandbox/seed", json={"object": "Nope", "count": 1})
    assert missing.status_code == 404 and "unknown Salesforce object" in missing.json()["error"]
    invalid = sandbox.http.post(f"{sandbox.base_url}/__sandbox/records/Lead", json={"Company": "No name"})
    assert invalid.status_code == 400 and invalid.json()["error"].startswith("REQUIRED_FIELD_MISSING")
    assert sandbox.http.post(f"{sandbox.base_url}/__sandbox/seed", json={"count": 1}).status_code == 422


@pytest.mark.slow
def test_hundred_thousand_leads_seed_and_page_quickly(sandbox: SalesforceSandbox) -> None:
    started = time.monotonic()
    assert sandbox.admin("POST", "seed", json={"object": "Lead", "count": 100_000})["total"] == 100_000
    token = sandbox.login()["access_token"]
    first = sandbox.rest("GET", "query", token, params={
        "q": "SELECT Id, Email FROM Lead WHERE Status != 'Closed - Converted' ORDER BY LastName, Id"
    }).json()
    second = sandbox.rest("GET", first["nextRecordsUrl"].split("/v59.0/")[1], token).json()
    assert second["totalSize"] == first["totalSize"] > 50_000 and len(second["records"]) == 2000
    assert time.monotonic() - started < 20  # generous; typically ~2 s
