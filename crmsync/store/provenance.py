"""Field provenance as the canonical rows store it: grouped by the source assertion that set the fields.

In memory the merge works on `{field: [system, source time (ISO UTC), run id]}`. On the row (the entity's
`provenance` column) fields set by the same assertion share one entry:
`[[system, source time, run id, [field, ...]], ...]`, entries ordered by source time. A record created from one
source is then a single entry rather than twelve copies of the same triple, which keeps the write that every
record pays small.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

# [system, source timestamp as ISO UTC with microseconds, run id]
Provenance = list[Any]
# What pack() builds for a write: tuples (stored as JSON arrays). Tuples of plain values are dropped from the
# garbage collector's tracking, so a page of rows waiting for its INSERT does not lengthen full collections.
Packed = tuple[tuple[Any, ...], ...]
# One stored entry: (system, source time, run id, sorted field names).
SourceEntry = tuple[str, str, str | None, tuple[str, ...]]


def pack(provenance: Mapping[str, Provenance]) -> Packed:
    """The stored form of a field -> provenance map."""
    # Fields one assertion set share one entry object: group by object first (cheap), then merge equal entries.
    by_object: dict[int, list[Any]] = {}  # id -> [entry, field, field, ...]
    for name, entry in provenance.items():
        group = by_object.get(id(entry))
        if group is None:
            by_object[id(entry)] = [entry, name]
        else:
            group.append(name)
    if len(by_object) < 2:  # one assertion set every field (a new record), or none: no grouping
        return tuple((*entry, sorted_names(tuple(names))) for entry, *names in by_object.values())
    groups: dict[tuple[Any, ...], list[str]] = {}
    for (system, ts, run), *names in by_object.values():
        groups.setdefault((system, ts, run), []).extend(names)
    ordered = sorted(groups.items(), key=lambda item: (item[0][1], item[0][0], item[0][2] or ""))
    return tuple((system, ts, run, sorted_names(tuple(names))) for (system, ts, run), names in ordered)


@lru_cache(maxsize=1024)
def sorted_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """One shared sorted tuple per field set (records from one mapping repeat the same few)."""
    return tuple(sorted(names))


def unpack(packed: Sequence[Sequence[Any]] | None) -> dict[str, Provenance]:
    """field -> [system, source time, run id]. The fields of one entry share one list, as they do when the merge
    sets them: provenance entries are replaced, never changed in place."""
    provenance: dict[str, Provenance] = {}
    for system, ts, run, names in packed or ():
        entry = [system, ts, run]
        for name in names:
            provenance[name] = entry
    return provenance
