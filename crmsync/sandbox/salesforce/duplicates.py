"""Duplicate rules with the Block action: a save matching a live record on every field of a rule's matching
rule is refused with DUPLICATES_DETECTED ("Use one of these records?", `fields` empty) and a
`duplicateResult` naming the matched records, on every save path (API, UI, admin), as in Salesforce.

Matching here is exact (trimmed, case-insensitive) on the rule's fields; Salesforce's fuzzy matching
methods are not emulated. A save that leaves one of the fields empty matches nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from crmsync.sandbox.salesforce.validation import RecordError

MESSAGE = "Use one of these records?"


@dataclass(frozen=True)
class DuplicateRule:
    object_name: str
    fields: tuple[str, ...]
    name: str

    def describe(self) -> dict[str, Any]:
        return {"object": self.object_name, "fields": list(self.fields), "name": self.name}

    def key(self, record: dict[str, Any]) -> tuple[str, ...] | None:
        values = [record.get(field) for field in self.fields]
        if any(value is None or str(value).strip() == "" for value in values):
            return None
        return tuple(str(value).strip().casefold() for value in values)

    def check(self, record: dict[str, Any], others: Iterable[dict[str, Any]], version: str = "59.0") -> None:
        """Raise DUPLICATES_DETECTED when a live record other than `record` matches it."""
        key = self.key(record)
        if key is None:
            return
        matches = [other for other in others if other["Id"] != record.get("Id") and self.key(other) == key]
        if matches:
            raise RecordError("DUPLICATES_DETECTED", MESSAGE, details={"duplicateResult": self._result(matches,
                                                                                                      version)})

    def _result(self, matches: list[dict[str, Any]], version: str) -> dict[str, Any]:
        records = [{"additionalInformation": [], "fieldDiffs": [], "matchConfidence": 100.0, "record": {
            "attributes": {"type": self.object_name,
                           "url": f"/services/data/v{version}/sobjects/{self.object_name}/{match['Id']}"},
            "Id": match["Id"]}} for match in matches]
        return {
            "allowSave": False, "duplicateRule": self.name, "duplicateRuleEntityType": self.object_name,
            "errorMessage": f"You're creating a duplicate {self.object_name} record. We recommend you use an "
                            "existing record instead.",
            "matchResults": [{"entityType": self.object_name, "errors": [], "matchEngine": "ExactMatchEngine",
                              "matchRecords": records, "rule": f"{self.name}_Match", "size": len(records),
                              "success": True}],
        }
