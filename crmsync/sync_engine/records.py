"""The values that travel down the ingest path, from a connector's record to a canonical patch."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record as a connector read it.

    `system` is the vendor kind and picks the mapping; `connection` names the account it came from (two
    Salesforce orgs are two connections) and defaults to the system. `cleared` lists source fields the source
    says were emptied: only those may overwrite a value with an empty one.
    """

    system: str
    object: str
    external_id: str
    modified_at: datetime
    payload: Mapping[str, Any]
    deleted: bool = False
    cleared: frozenset[str] = frozenset()
    connection: str | None = None

    @property
    def origin(self) -> str:
        """The connection name the canonical store records this record under."""
        return self.connection or self.system


@dataclass(frozen=True, slots=True)
class RefValue:
    """A field holding another record's id in the same system; resolved to a canonical id at ingest."""

    object: str
    external_id: str


@dataclass(slots=True)
class CanonicalPatch:
    """Only the canonical fields a source asserted, with where and when they came from.

    `system` here is the origin connection: provenance, external refs and priorities use it.
    """

    entity: str
    system: str
    object: str
    external_id: str
    source_ts: datetime
    values: dict[str, Any]
    cleared: frozenset[str] = frozenset()
    refs: dict[str, RefValue] = field(default_factory=dict)
    deleted: bool = False

    def content_hash(self) -> str:
        """Hash of what the source asserted: equal hashes mean nothing new (or our own echo).

        repr of sorted items is deterministic for the value types mappings produce (str, int, Decimal, date,
        datetime, bool, lists of those) and several times cheaper than JSON on the hot path.
        """
        if self.cleared or self.refs:
            text = repr((sorted(self.values.items()), sorted(self.cleared),
                         sorted((k, r.object, r.external_id) for k, r in self.refs.items()), self.deleted))
        else:  # the same text, without building the empty parts
            text = f"({sorted(self.values.items())!r}, [], [], {self.deleted!r})"
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
