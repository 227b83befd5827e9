"""Throw-away TLS for the sandbox: a local CA (trustme) and one server certificate for loopback.

Salesforce's SDK only speaks https, so every emulator is served over TLS and clients pass
`verify=<ca_bundle>`. When the CA directory already holds a CA from an earlier run it is reused, so a user
who trusted `ca.pem` once keeps trusting the sandbox.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import trustme

CA_BUNDLE_NAME = "ca.pem"
CA_KEY_NAME = "ca-key.pem"
SERVER_CERT_NAME = "server.pem"
SERVER_KEY_NAME = "server-key.pem"
LOOPBACK_IDENTITIES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files one sandbox run serves with."""

    directory: Path
    ca_bundle: Path
    server_cert: Path
    server_key: Path


def _write_private(path: Path, data: bytes) -> None:
    # Keys are throw-away, but still keep them owner-only like any key file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _load_or_create_ca(directory: Path) -> trustme.CA:
    ca_path, key_path = directory / CA_BUNDLE_NAME, directory / CA_KEY_NAME
    if ca_path.is_file() and key_path.is_file():
        return trustme.CA.from_pem(ca_path.read_bytes(), key_path.read_bytes())
    ca = trustme.CA(organization_name="crmsync sandbox")
    ca.cert_pem.write_to_path(str(ca_path))
    _write_private(key_path, ca.private_key_pem.bytes())
    return ca


class SandboxTls:
    """Creates (or reuses) the CA in `directory` and issues a fresh loopback server certificate.

    Without a directory a temporary one is made and removed again by `cleanup()`.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self._owns_directory = directory is None
        path = Path(tempfile.mkdtemp(prefix="crmsync-sandbox-tls-")) if directory is None else Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        ca = _load_or_create_ca(path)
        leaf = ca.issue_cert(*LOOPBACK_IDENTITIES, common_name="crmsync sandbox")
        server_cert, server_key = path / SERVER_CERT_NAME, path / SERVER_KEY_NAME
        server_cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        _write_private(server_key, leaf.private_key_pem.bytes())
        self.files = TlsFiles(path, path / CA_BUNDLE_NAME, server_cert, server_key)

    @property
    def ca_bundle(self) -> str:
        return str(self.files.ca_bundle)

    def cleanup(self) -> None:
        """Remove the directory if this object created it; a user-chosen directory is kept."""
        if self._owns_directory:
            shutil.rmtree(self.files.directory, ignore_errors=True)
