"""The `map` transform: a table of vendor values to canonical values, and one back for write-back.

Read (forward), a value missing from `values` is kept (`unknown: keep`), refused (`error`) or replaced by
`default`. Written (reverse), a canonical value missing from the reverse table is kept, refused, or — with
`out_unknown: drop`, for a target that takes only its listed values (a picklist) — left out of the payload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from crmsync.errors import RecordMappingError
from crmsync.mappings.core import OMIT, Context, Params, Transform, TransformFn


class MapParams(Params):
    values: dict[str, Any]
    reverse: dict[str, Any] | None = None
    unknown: Literal["keep", "error", "default"] = "keep"
    default: Any = None
    case_insensitive: bool = False
    # None: `error` when `unknown` is error, else `keep`. `drop`: the target's values are exactly this table's.
    out_unknown: Literal["keep", "error", "drop"] | None = None


def _reverse_table(params: MapParams) -> dict[str, Any] | None:
    if params.reverse is not None:
        return dict(params.reverse)
    targets = [str(v) for v in params.values.values()]
    if len(set(targets)) == len(targets):  # injective: the map can be read backwards
        return {str(v): k for k, v in params.values.items()}
    return None


def value_map(params: MapParams, _region: str | None) -> Transform:
    fold: Callable[[Any], str] = (lambda v: str(v).casefold()) if params.case_insensitive else str
    table = {fold(k): v for k, v in params.values.items()}

    def forward(value: Any, _ctx: Context) -> Any:
        key = fold(value)
        if key in table:
            return table[key]
        if params.unknown == "error":
            raise RecordMappingError(f"{value!r} is not in the value map ({', '.join(sorted(table))})")
        return params.default if params.unknown == "default" else value

    back = _reverse_table(params)
    if back is None:
        return Transform("map", forward, None)
    out_unknown = params.out_unknown or ("error" if params.unknown == "error" else "keep")

    def reverse(value: Any, _ctx: Context) -> Any:
        key = str(value)
        if key in back:
            return back[key]
        if out_unknown == "drop":
            return OMIT
        if out_unknown == "error":
            raise RecordMappingError(f"{value!r} has no value to write (the map writes {', '.join(sorted(back))})")
        return value

    # A canonical value this map reads but cannot write would go out as it is: into a picklist that has no such
    # option, or (when the vendor holds it under another spelling) as a value that reads back as something else.
    produced = {str(v) for v in params.values.values()} | ({str(params.default)} if params.unknown == "default"
                                                           and params.default is not None else set())
    unwritable = sorted(produced - back.keys())
    problems = () if not unwritable or out_unknown != "keep" else (
        f"value map: canonical {', '.join(map(repr, unwritable))} read from this field "
        f"{'has' if len(unwritable) == 1 else 'have'} no `reverse` entry, so write-back would send "
        f"{'it' if len(unwritable) == 1 else 'them'} unchanged; add the entries or set `out_unknown: drop`",)
    reverse_fn: TransformFn = reverse
    return Transform("map", forward, reverse_fn, probes=tuple(back), write_problems=problems)
