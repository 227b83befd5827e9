"""`sandbox up --json` as a user runs it: a real subprocess, stopped with Ctrl-C (SIGINT)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import requests

UP = "from crmsync.sandbox.cli import sandbox_app; sandbox_app()"


def test_sandbox_up_json_prints_one_object_per_vendor_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", UP, "up", "--vendors", "salesforce", "--json", "--seed", "3", "--ca-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        line = json.loads(process.stdout.readline())
        assert set(line) == {"vendor", "base_url", "credentials", "ca_bundle"}
        assert line["vendor"] == "salesforce" and line["base_url"].startswith("https://127.0.0.1:")
        assert set(line["credentials"]) == {"client_id", "client_secret", "username", "password"}
        assert line["ca_bundle"] == str(tmp_path / "ca.pem")
        with requests.Session() as http:
            http.trust_env = False
            http.verify = line["ca_bundle"]
            token = http.post(f"{line['base_url']}/services/oauth2/token",
                              data={"grant_type": "password", **line["credentials"]}).json()["access_token"]
            leads = http.get(f"{line['base_url']}/services/data/v59.0/query", params={"q": "SELECT COUNT() FROM Lead"},
                             headers={"Authorization": f"Bearer {token}"}).json()
        assert leads["totalSize"] == 3
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
