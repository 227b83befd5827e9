"""What every connector provides, as data the engine can ask about; the engine never imports a vendor SDK.

A connector reads streams as pages of SourceRecords, each page carrying the cursor that resumes right after
it (the runner stores that cursor in the page's own transaction), and writes canonical payloads back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from crmsync.errors import CrmsyncError
from crmsync.sync_engine.records import SourceRecord


class Capability(StrEnum):
    INCREMENTAL = "incremental"
    BACKFILL = "backfill"
    DELETES = "deletes"
    WRITE_BACK = "write_back"
    WEBHOOKS = "webhooks"
    # `write` accepts WriteItems with `delete=True` (a delete propagated from another system).
    DELETE_WRITES = "delete_writes"
    # `list_ids(stream)` yields pages of the ids of every live record: ID-only reconciliation of hard deletes.
    ID_LISTING = "id_listing"


@dataclass(frozen=True, slots=True)
class StreamPage:
    """One page of a stream and the cursor to resume from after it has been stored."""

    stream: str
    records: list[SourceRecord]
    cursor: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class WriteItem:
    """A canonical record to push: `external_id` is None when the target system has not seen it yet.

    With `delete`, the target's record `external_id` is to be deleted (archived where the vendor archives) and
    `payload` is empty; a record that is already gone counts as deleted (ok)."""

    canonical_id: str
    payload: Mapping[str, Any]
    external_id: str | None = None
    delete: bool = False


@dataclass(frozen=True, slots=True)
class WriteResult:
    canonical_id: str
    ok: bool
    external_id: str | None = None
    created: bool = False
    error: str | None = None
    retryable: bool = False
    # The target cannot hold this record as it stands (e.g. another record already has a value that must be
    # unique there): the outbox holds the item with `error` as its reason instead of making it a dead letter,
    # and a later change of the record tries again.
    held: bool = False


class Connector(Protocol):
    name: str  # the connection name (two Salesforce orgs are two connectors)
    system: str  # the vendor kind, which picks the mapping file
    capabilities: frozenset[Capability]

    def streams(self) -> Sequence[str]: ...

    def read(self, stream: str, cursor: Mapping[str, Any] | None, *, since: datetime | None = None,
             until: datetime | None = None) -> Iterator[StreamPage]: ...

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteResult]: ...

    # With Capability.ID_LISTING: `list_ids(stream) -> Iterator[list[str]]`, pages of the ids of every live
    # (not deleted) record of the stream, reading as little as the vendor allows (ids only).

    def close(self) -> None: ...


class ConnectorError(CrmsyncError):
    """A vendor call failed in a way the user should see; the message never carries a credential."""


class AuthenticationError(ConnectorError):
    """The credentials were refused: fix them in the configuration."""


class TransientError(ConnectorError):
    """Worth retrying: a 5xx, a timeout, a dropped connection."""


@dataclass
class RateLimited(TransientError):
    """The vendor asked us to slow down; retry after `retry_after` seconds."""

    message: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.message


@dataclass
class QuotaExhausted(ConnectorError):
    """The daily API allowance is (nearly) spent: stop cleanly, keep the checkpoint, resume at `resume_at`."""

    message: str
    resume_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message
