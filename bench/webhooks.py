"""Webhook receiver throughput: signed HubSpot-style batches against `crmsync serve` (verify, store in the
inbox, answer; process after) and, in the same run, against an endpoint that only verifies and answers.

Every server and the driver run in their own processes on loopback: the HubSpot sandbox (the connector
reads its property list), `crmsync serve --no-scheduler` on a fresh SQLite store, and a bare endpoint
(FastAPI on uvicorn, the same signature check, no storage). The driver sends batches of `--batch` events
from `--concurrency` threads for `--seconds` and reports accepted events/s and request latencies. After
the run, `applied_lag` is inbox receipt → applied, from the store. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
import yaml
from fastapi import FastAPI, Request, Response  # module level: FastAPI resolves the endpoint's annotations here

HERE = Path(__file__).resolve()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# -- the driver (its own process) -----------------------------------------------------------------------
def drive(url: str, secret: str, seconds: float, batch: int, concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    accepted = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    counter = iter(range(10**9))

    def worker() -> None:
        with requests.Session() as http:
            while time.monotonic() < deadline:
                with lock:
                    first = next(counter) * batch
                events = [{"eventId": first + i, "subscriptionId": 1, "portalId": 62515, "appId": 1,
                           "occurredAt": 1_760_000_000_000 + first + i, "subscriptionType": "contact.propertyChange",
                           "attemptNumber": 0, "objectId": 1000 + (first + i) % 500, "changeSource": "CRM_UI",
                           "propertyName": "jobtitle", "propertyValue": f"title {first + i}"} for i in range(batch)]
                body = json.dumps(events).encode()
                stamp = str(int(time.time() * 1000))
                signature = base64.b64encode(hmac.new(secret.encode(), b"POST" + url.encode() + body + stamp.encode(),
                                                      hashlib.sha256).digest()).decode()
                started = time.perf_counter()
                answer = http.post(url, data=body, headers={"Content-Type": "application/json",
                                                            "X-HubSpot-Signature-v3": signature,
                                                            "X-HubSpot-Request-Timestamp": stamp})
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if answer.status_code < 300:
                        accepted[0] += batch

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    return {"events": accepted[0], "seconds": wall, "p50_ms": percentile(latencies, 0.5) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000, "requests": len(latencies)}


def run_driver(url: str, secret: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, str(HERE), "--drive", url, "--secret", secret, "--seconds", str(args.seconds),
               "--batch", str(args.batch), "--concurrency", str(args.concurrency)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


# -- the bare endpoint (its own process) ------------------------------------------------------------------
def bare_server(port: int, secret: str) -> None:
    from datetime import UTC, datetime

    import uvicorn

    from crmsync.connectors.hubspot.webhooks import WebhookSignatureError, verify_signature

    app = FastAPI()

    @app.post("/webhooks/{connection}")
    async def receive(connection: str, request: Request) -> Response:
        body = await request.body()
        try:
            verify_signature("POST", str(request.url), body, dict(request.headers), secret, datetime.now(UTC))
        except WebhookSignatureError:
            return Response(status_code=401)
        return Response(status_code=204)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- orchestration ------------------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


def applied_lags(database: Path, expected: int, timeout: float = 120) -> list[float]:
    from sqlalchemy import func, select

    from crmsync.store import db
    from crmsync.store.models import InboxEvent

    engine = db.make_engine(f"sqlite:///{database}")
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            query = select(func.count()).select_from(InboxEvent).where(InboxEvent.status == "done")
            done = conn.execute(query).scalar()
            if (done or 0) >= expected:
                break
            time.sleep(0.2)
        rows = conn.execute(select(InboxEvent.received_at, InboxEvent.processed_at)
                            .where(InboxEvent.status == "done")).all()
    engine.dispose()
    return [(processed - received).total_seconds() for received, processed in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=5)  # HubSpot sends up to 5+ requests at once
    parser.add_argument("--drive")
    parser.add_argument("--secret")
    parser.add_argument("--bare-server", type=int)
    args = parser.parse_args()
    if args.drive:
        print(json.dumps(drive(args.drive, args.secret, args.seconds, args.batch, args.concurrency)))
        return
    if args.bare_server:
        bare_server(args.bare_server, args.secret)
        return

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = subprocess.Popen([sys.executable, "-m", "crmsync.cli", "sandbox", "up", "--json", "--vendors",
                                    "hubspot", "--ca-dir", f"{tmp}/ca"], stdout=subprocess.PIPE, text=True)
        assert sandbox.stdout is not None
        endpoint = json.loads(sandbox.stdout.readline())
        secret = endpoint["credentials"]["client_secret"]
        database, port, bare_port = Path(tmp) / "store.db", free_port(), free_port()
        config = Path(tmp) / "crmsync.yaml"
        config.write_text(yaml.safe_dump({
            "database_url": f"sqlite:///{database}",
            "server": {"port": port},
            "connections": [{"name": "hs", "system": "hubspot", "base_url": endpoint["base_url"],
                             "ca_bundle": endpoint["ca_bundle"], "objects": {"contacts": "both"},
                             "credentials": {"access_token": endpoint["credentials"]["private_app_token"],
                                             "client_secret": secret}}]}), encoding="utf-8")
        env["CRMSYNC_CONFIG"] = str(config)
        subprocess.run([sys.executable, "-m", "crmsync.cli", "db", "upgrade"], env=env, check=True,
                       capture_output=True)
        serve = subprocess.Popen([sys.executable, "-m", "crmsync.cli", "serve", "--no-scheduler", "--quiet"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bare = subprocess.Popen([sys.executable, str(HERE), "--bare-server", str(bare_port), "--secret", secret],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz", serve)
            wait_healthy(f"http://127.0.0.1:{bare_port}/", bare)
            full = run_driver(f"http://127.0.0.1:{port}/webhooks/hs", secret, args)
            lags = applied_lags(database, full["events"])
            plain = run_driver(f"http://127.0.0.1:{bare_port}/webhooks/hs", secret, args)
        finally:
            for process in (serve, bare, sandbox):
                process.terminate()
                process.wait(timeout=30)
    events_per_s, bare_per_s = full["events"] / full["seconds"], plain["events"] / plain["seconds"]
    print(f"serve: {full}; bare: {plain}; applied {len(lags)} events, lag p50 "
          f"{statistics.median(lags) * 1000 if lags else 0:.0f} ms", file=sys.stderr)
    print(json.dumps({"events_per_s": round(events_per_s), "bare_events_per_s": round(bare_per_s),
                      "ratio": round(events_per_s / bare_per_s, 3), "p50_ms": round(full["p50_ms"], 1),
                      "p99_ms": round(full["p99_ms"], 1), "applied_lag_p99_ms": round(percentile(lags, 0.99) * 1000),
                      "bare_p50_ms": round(plain["p50_ms"], 1), "bare_p99_ms": round(plain["p99_ms"], 1),
                      "events_applied": len(lags), "batch": args.batch, "concurrency": args.concurrency}))


if __name__ == "__main__":
    main()
