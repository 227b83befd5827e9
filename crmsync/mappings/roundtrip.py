"""The round-trip rule for rules that write (`out`, `both`): a canonical value written to a vendor and read back
must be the same canonical value, or the record changes in every system with no one editing it (a Zoho deal
written as "Qualification" read back as `qualification`, not the `prospecting` it was).

What is decidable is checked when a mapping loads, on each transform's probes (the canonical values it can name):
every value in a value map's reverse table, and sample numbers through a `scale`. Each transform is checked on
its own, and a chain of several is checked whole on the probes of its last (canonical-side) transform. Names
(`split_name`/`join_name`: a lone first name reads back as a last name), `day` (a date holds no time) and free
text are not checked: their round trip is lossy by nature, and their rules are chosen knowing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crmsync.errors import RecordMappingError
from crmsync.mappings.core import OMIT, Transform


def _write(chain: Sequence[Transform], value: Any) -> Any:
    for transform in reversed(chain):
        assert transform.reverse is not None  # the loader refuses irreversible chains before this check
        value = transform.reverse(value, {})
        if value is OMIT:
            return OMIT
    return value


def _read(chain: Sequence[Transform], value: Any) -> Any:
    for transform in chain:
        value = transform.forward(value, {})
    return value


def _probe(chain: Sequence[Transform], value: Any) -> str | None:
    """Why writing `value` through the chain and reading it back does not give `value` (None: it does)."""
    try:
        written = _write(chain, value)
    except RecordMappingError:
        return None  # refused on write (`out_unknown: error`): nothing is sent, nothing can drift
    if written is OMIT:
        return None  # left out of the payload: the target keeps what it has
    try:
        back = _read(chain, written)
    except RecordMappingError as exc:
        return f"canonical {value!r} is written as {written!r}, which does not read back ({exc})"
    if back != value:
        return f"canonical {value!r} is written as {written!r}, which reads back as {back!r}"
    return None


HINT = "; write it as a value that reads back as itself, or leave it out (`out_unknown: drop`)"


def round_trip_problems(chain: Sequence[Transform]) -> list[str]:
    """Every located round-trip failure of a writing rule's transform chain, naming the value that fails."""
    problems: list[str] = []
    for transform in chain:
        problems += transform.write_problems
        problems += [f"{transform.name}: {why}{HINT}" for why in (_probe([transform], v) for v in transform.probes)
                     if why]
    if len(chain) > 1 and not problems:
        names = " -> ".join(t.name for t in chain)
        problems += [f"transforms {names}: {why}{HINT}" for why in (_probe(chain, v) for v in chain[-1].probes)
                     if why]
    return problems
