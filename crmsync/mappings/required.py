"""What a vendor needs before it creates a record (`required:` of an object mapping), checked on the payload
write-back built, so a record the vendor would refuse is held with a reason the user can act on instead of
being sent and dead-lettered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from crmsync.errors import RecordNotWritable
from crmsync.mappings.paths import Getter, getter, is_empty

if TYPE_CHECKING:
    from crmsync.mappings.mapper import CompiledRule

SYSTEM_NAMES = {"salesforce": "Salesforce", "hubspot": "HubSpot", "zoho": "Zoho", "five9": "Five9",
                "stripe": "Stripe", "razorpay": "Razorpay"}
NAME_FIELDS = ("first_name", "last_name", "email")


def display_name(system: str) -> str:
    return SYSTEM_NAMES.get(system, system)


class Requirements:
    """The `required:` entries of one object mapping: each a tuple of paths, any one of which must be set."""

    def __init__(self, system: str, object_name: str, entity: str, entries: Sequence[str | Sequence[str]],
                 out_rules: Sequence[CompiledRule]) -> None:
        self.where = f"{display_name(system)} {object_name}"
        self.system, self.entity = display_name(system), entity
        self.entries: tuple[tuple[str, ...], ...] = tuple(
            (entry,) if isinstance(entry, str) else tuple(entry) for entry in entries)
        self._getters: tuple[tuple[Getter, ...], ...] = tuple(tuple(map(getter, e)) for e in self.entries)
        self._writers: dict[str, list[CompiledRule]] = {}
        for rule in out_rules:
            if not rule.targets:
                continue  # an `out` constant: on a whole payload it is always there
            for path in (*rule.sources, *(p for p, _ in rule.when)):
                self._writers.setdefault(path, []).append(rule)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def missing(self, payload: Mapping[str, Any]) -> list[tuple[str, ...]]:
        """The entries none of whose paths the payload sets."""
        return [entry for entry, getters in zip(self.entries, self._getters, strict=True)
                if all(is_empty(get(payload)) for get in getters)]

    def check(self, payload: Mapping[str, Any], canonical: Mapping[str, Any]) -> None:
        """Raise RecordNotWritable naming what is missing and why, when the payload cannot create a record."""
        missing = self.missing(payload)
        if missing:
            raise RecordNotWritable(self.message(missing, canonical))

    def message(self, missing: Sequence[tuple[str, ...]], canonical: Mapping[str, Any]) -> str:
        needs = " and ".join(" or ".join(entry) for entry in missing)
        reasons = list(dict.fromkeys(why for entry in missing for path in entry for why in self._why(path, canonical)))
        text = f"{self.where} needs {needs}; this {self.entity} {'; '.join(reasons)}"
        if self.entity == "lead" and canonical.get("phone") and not any(canonical.get(f) for f in NAME_FIELDS):
            text += " (a phone-only caller?)"
        return text

    def _why(self, path: str, canonical: Mapping[str, Any]) -> list[str]:
        rules = self._writers.get(path)
        if not rules:
            return [f"has nothing crmsync writes to {path}"]
        reasons = []
        for rule in rules:
            values = [(target, canonical.get(target)) for target in rule.targets]
            present = [(target, value) for target, value in values if not is_empty(value)]
            if not present:
                reasons.append(f"has no {' or '.join(rule.targets)}")
            elif rule.ref is not None:
                target, value = present[0]
                reasons.append(f"has {target} {value!r}, which is not in {self.system} yet")
            else:
                shown = ", ".join(f"{target}={value!r}" for target, value in present)
                reasons.append(f"has {shown}, which {self.where} does not take")
        return reasons
