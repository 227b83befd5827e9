"""Field-level merge: one pure function over a record's values, its provenance and one patch.

Every decision compares total-order keys built from (source timestamp, system rank, value, run), so the
outcome of `latest`, `priority`, `first_non_empty` and `union` does not depend on the order patches arrive
in, and replaying a patch changes nothing. `manual` is the one strategy that keeps what the store holds when
sources disagree: its value depends on arrival order, the conflict it opens does not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from crmsync.config.policy import FieldPolicy, MergePolicy
from crmsync.store.models import field_type
from crmsync.store.provenance import Provenance, SourceEntry, sorted_names
from crmsync.store.types import json_default
from crmsync.sync_engine.records import CanonicalPatch

Key = tuple[Any, ...]
DECISION_PREFIX = "conflict:"  # the run of a provenance entry a person's decision wrote (review.py)


def iso_utc(ts: datetime) -> str:
    """Fixed-width ISO text in UTC: sorts as text exactly as the instants sort."""
    if ts.tzinfo is not UTC:
        ts = ts.astimezone(UTC)
    # isoformat() prints microseconds only when there are some; add them by hand (cheaper than timespec=).
    return ts.isoformat() if ts.microsecond else ts.isoformat()[:-6] + ".000000+00:00"


def source_time(patch: CanonicalPatch) -> str:
    """The patch's source time as provenance keeps it, taken once per patch (prepare_page takes it ahead)."""
    iso = patch.source_iso
    if iso is None:
        iso = patch.source_iso = iso_utc(patch.source_ts)
    return iso


def value_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=json_default, separators=(",", ":"))


@dataclass(slots=True)
class MergeOutcome:
    """What applying one patch did: field -> (old, new), new provenance entries, conflicts to open."""

    changes: dict[str, list[Any]] = field(default_factory=dict)  # field -> [old, new], as the change log keeps it
    provenance: dict[str, Provenance] = field(default_factory=dict)
    conflicts: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One field's policy, flattened for the per-field loop."""

    strategy: str
    allow_clear: bool
    priority: tuple[str, ...] | None
    ordering: str  # which key order decides: latest, priority or first_non_empty
    plain_latest: bool  # strategy latest with the global priority: the common case, merged inline


class CompiledPolicy:
    """A MergePolicy with per-field lookups and system ranks cached for the hot path."""

    def __init__(self, policy: MergePolicy) -> None:
        self.policy = policy
        self._field = cache(self._lookup)
        self._rule = cache(self._compile)
        self._rank = cache(policy.rank)
        self._unions = cache(self._union_fields)
        self._rules = lru_cache(maxsize=4096)(self._field_rules)

    def _lookup(self, entity: str, name: str) -> FieldPolicy:
        return self.policy.for_field(entity, name)

    def _compile(self, entity: str, name: str) -> FieldRule:
        if field_type(entity, name) is dict:  # a map of per-system values (owners): each system keeps its own key
            return FieldRule("by_system", False, None, "latest", False)
        rule = self._field(entity, name)
        ordering = rule.strategy if rule.strategy in ("priority", "first_non_empty") else "latest"
        priority = tuple(rule.priority) if rule.priority else None
        return FieldRule(rule.strategy, bool(rule.allow_clear), priority, ordering,
                         rule.strategy == "latest" and priority is None)

    def _field_rules(self, entity: str, names: tuple[str, ...]) -> tuple[FieldRule, ...]:
        return tuple(self._rule(entity, name) for name in names)

    def _union_fields(self, entity: str, names: tuple[str, ...]) -> frozenset[str]:
        return frozenset(name for name in names if self._field(entity, name).strategy == "union")

    def field(self, entity: str, name: str) -> FieldPolicy:
        return self._field(entity, name)

    def rule(self, entity: str, name: str) -> FieldRule:
        return self._rule(entity, name)

    def rules(self, entity: str, names: tuple[str, ...]) -> tuple[FieldRule, ...]:
        """The rule of each of `names` (cached per field set: a mapping sends the same few sets)."""
        return self._rules(entity, names)

    def union_fields(self, entity: str, names: tuple[str, ...]) -> frozenset[str]:
        """Which of `names` merge as a union (cached per field set: a mapping sends the same few sets)."""
        return self._unions(entity, names)

    def rank(self, system: str, field_priority: tuple[str, ...] | None = None) -> int:
        return self._rank(system, field_priority or None)  # a tuple: the cache needs hashable arguments


def _prefix(ordering: str, ts: str, rank: int) -> Key:
    if ordering == "priority":
        return (rank, ts)
    if ordering == "first_non_empty":
        return (ts, -rank)
    return (ts, rank)


def _wins(ordering: str, incoming: Key, current: Key) -> bool:
    """Does the incoming (prefix, value, run) beat the current one? Values are only encoded on a tie."""
    if incoming[0] == current[0]:
        incoming = (incoming[0], value_key(incoming[1]), incoming[2] or "")
        current = (current[0], value_key(current[1]), current[2] or "")
    else:
        incoming, current = incoming[:1], current[:1]
    return incoming < current if ordering == "first_non_empty" else incoming > current


def new_record(entity: str, patch: CanonicalPatch, policy: CompiledPolicy,
               run_id: str | None) -> tuple[dict[str, Any], SourceEntry] | None:
    """Values of a record nobody has asserted anything on yet, and the one source every field came from as its
    stored provenance entry (system, source time, run, sorted field names): it takes every value as it comes (the
    common backfill case). None when the patch clears or empties a field and needs the full merge."""
    if patch.cleared or None in patch.values.values():
        return None
    values = dict(patch.values)
    names = tuple(values)
    for name in policy.union_fields(entity, names):
        value = values[name]
        values[name] = sorted({*(value if isinstance(value, list) else [value])})
    return values, (patch.system, source_time(patch), run_id, sorted_names(names))


def merge_patch(
    entity: str,
    values: Mapping[str, Any],
    provenance: Mapping[str, Provenance],
    patch: CanonicalPatch,
    policy: CompiledPolicy,
    run_id: str | None,
) -> MergeOutcome:
    """Apply `patch` to a record's current `values` and `provenance`; returns what changed (inputs untouched)."""
    outcome = MergeOutcome()
    if not provenance and not values:
        created = new_record(entity, patch, policy, run_id)
        if created is not None:
            new_values, source = created
            shared = list(source[:3])  # one entry for every field: provenance entries are replaced, never changed
            outcome.provenance = {name: shared for name in new_values}
            outcome.changes = {name: [None, value] for name, value in new_values.items()}
            return outcome
    ts = source_time(patch)
    system = patch.system
    new_prov: Provenance = [system, ts, run_id]  # shared by the fields this patch sets; never changed in place
    incoming: Mapping[str, Any] = patch.values
    if patch.cleared:
        incoming = {**incoming, **{name: None for name in patch.cleared if name not in incoming}}
    ranks: dict[tuple[str, tuple[str, ...] | None], int] = {}
    rules = policy.rules(entity, tuple(incoming))
    changes, new_provenance = outcome.changes, outcome.provenance
    for (name, value), rule in zip(incoming.items(), rules, strict=True):
        if rule.plain_latest:
            # The default rule, decided inline: the later source time wins, then the higher rank; only a full tie
            # goes to the complete comparison (values and runs). Same order as _prefix/_wins for "latest".
            if value is None and not rule.allow_clear:
                continue
            current = values.get(name)
            prov = provenance.get(name)
            if prov is not None:
                if ts != prov[1]:
                    if ts < prov[1]:
                        continue
                else:
                    rank, prov_rank = _ranked(ranks, policy, system, None), _ranked(ranks, policy, prov[0], None)
                    if not (rank > prov_rank if rank != prov_rank else _wins(
                            "latest", ((ts, rank), value, run_id), ((prov[1], prov_rank), current, prov[2]))):
                        continue
            new_provenance[name] = new_prov  # _set, inline: this runs for most fields of every merged record
            if current is None or value is None or type(current) is type(value):
                if current != value:
                    changes[name] = [current, value]
            elif value_key(current) != value_key(value):
                changes[name] = [current, value]
            continue
        strategy = rule.strategy
        prov = provenance.get(name)
        if prov is not None and prov[1] >= ts and (prov[2] or "").startswith(DECISION_PREFIX):
            continue  # a person decided this field after the source said so: the decision stands
        if strategy == "by_system":
            current = values.get(name)
            if value is not None:
                merged = {**(current or {}), **value}
                if merged != (current or {}):
                    _set(outcome, name, current, merged, new_prov)
            continue
        if value is None and (not rule.allow_clear or strategy in ("union", "first_non_empty")):
            continue  # a clear applies only where allowed, and never to a union or a first value
        if strategy == "union":
            value = sorted({*(value if isinstance(value, list) else [value])})
        current = values.get(name)
        if prov is None:
            _set(outcome, name, current, sorted({*(current or []), *value}) if strategy == "union" else value, new_prov)
            continue
        priority = rule.priority
        rank, prov_rank = _ranked(ranks, policy, system, priority), _ranked(ranks, policy, prov[0], priority)
        ordering = rule.ordering
        mine, theirs = _prefix(ordering, ts, rank), _prefix(ordering, prov[1], prov_rank)
        if mine != theirs:  # the usual case: source time or rank decides, no values to encode
            wins = mine < theirs if ordering == "first_non_empty" else mine > theirs
        else:
            wins = _wins(ordering, (mine, value, run_id), (theirs, current, prov[2]))
        if strategy == "union":
            # The stored value is the merged list, not what the provenance holder asserted: order by source only.
            wins = (ts, rank, system, run_id or "") > (prov[1], prov_rank, prov[0], prov[2] or "")
            merged = sorted({*(current or []), *value})
            if wins or merged != (current or []):
                _set(outcome, name, current, merged, new_prov if wins else list(prov))
        elif strategy == "manual" and current is not None and prov[0] != system:
            if value_key(value) != value_key(current):
                outcome.conflicts.append((name, [
                    {"system": prov[0], "value": current, "source_ts": prov[1], "run_id": prov[2]},
                    {"system": system, "value": value, "source_ts": ts, "run_id": run_id},
                ]))
        elif wins:
            _set(outcome, name, current, value, new_prov)
    return outcome


def _ranked(ranks: dict[tuple[str, tuple[str, ...] | None], int], policy: CompiledPolicy, system: str,
            priority: tuple[str, ...] | None) -> int:
    """`system`'s rank under `priority`, kept in `ranks` for the rest of one merge."""
    rank = ranks.get((system, priority))
    if rank is None:
        rank = ranks[(system, priority)] = policy.rank(system, priority)
    return rank


def apply_outcome(values: dict[str, Any], provenance: dict[str, Provenance], outcome: MergeOutcome) -> None:
    """Write a merge outcome into a record's values and provenance (an emptied field leaves the values)."""
    for name, (_old, new) in outcome.changes.items():
        if new is None:
            values.pop(name, None)
        else:
            values[name] = new
    provenance.update(outcome.provenance)


def _set(outcome: MergeOutcome, name: str, old: Any, new: Any, prov: Provenance) -> None:
    outcome.provenance[name] = prov
    if old is None or new is None or type(old) is type(new):
        changed = old != new
    else:  # e.g. Decimal('1.0') vs int 1: compare as stored
        changed = value_key(old) != value_key(new)
    if changed:
        outcome.changes[name] = [old, new]
