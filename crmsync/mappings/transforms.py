"""Value transforms for mapping rules: pure functions, each with its inverse when one exists.

A transform is built from its name and parameters when a mapping loads. `forward` turns a source value into
the canonical value; `reverse` turns it back for write-back. A transform whose `reverse` is None cannot serve
a rule with direction `out` or `both`, and the loader rejects such a rule. The value map lives in `valuemap.py`,
the time transforms in `times.py`; what a transform is, in `core.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import ValidationError

from crmsync.errors import RecordMappingError
from crmsync.mappings.core import OMIT, Context, NoParams, Params, Transform, TransformFn, identity
from crmsync.mappings.phones import to_e164
from crmsync.mappings.times import (
    DatetimeParams,
    DayParams,
    date_transform,
    datetime_transform,
    day_transform,
    format_datetime,
    mm_ss_transform,
    parse_utc,
    to_date,
)
from crmsync.mappings.valuemap import MapParams, value_map

__all__ = ["OMIT", "Context", "Transform", "TransformFn", "build_transform", "coercer", "currency_exponent",
           "format_datetime", "identity", "parse_utc", "to_e164"]

# ISO 4217 currencies whose minor unit is not 2 digits; every other code has 2.
CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV",
         "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}


def currency_exponent(code: str) -> int:
    """Digits after the decimal point for an ISO 4217 code (2 unless listed above)."""
    return CURRENCY_EXPONENTS.get(code.upper(), 2)


def _text(name: str, fn: Callable[[str], str]) -> Transform:
    def forward(value: Any, _ctx: Context) -> Any:
        return fn(value) if isinstance(value, str) else value

    return Transform(name, forward, identity)


class PhoneParams(Params):
    region: str | None = None
    on_invalid: Literal["error", "drop"] = "error"


def _phone(params: PhoneParams, default_region: str | None) -> Transform:
    region = params.region or default_region

    def forward(value: Any, _ctx: Context) -> Any:
        e164 = to_e164(str(value).strip(), region)
        if e164 is None:
            if params.on_invalid == "drop":
                return None
            raise RecordMappingError(f"{value!r} is not a valid phone number (default region {region})")
        return e164

    return Transform("phone", forward, identity)


def to_decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise RecordMappingError(f"{value!r} is not a number") from None


def _decimal(_params: NoParams, _region: str | None) -> Transform:
    return Transform("decimal", lambda value, _ctx: to_decimal(value), identity)


class ScaleParams(Params):
    factor: Decimal
    integer: bool = True


def _scale(params: ScaleParams, _region: str | None) -> Transform:
    """Multiply by `factor` (e.g. 0.001 for milliseconds -> seconds); write-back divides."""

    def apply(value: Any, factor: Decimal) -> Any:
        scaled = to_decimal(value) * factor
        return int(scaled.to_integral_value()) if params.integer else scaled

    # Probes: an integer scale whose write-back divides by a non-integer rounds (factor 60: 1 is written as 0).
    return Transform("scale", lambda value, _ctx: apply(value, params.factor),
                     lambda value, _ctx: apply(value, 1 / params.factor), probes=(1, 7, 59, 1000))


class MinorUnitsParams(Params):
    currency: str | None = None
    currency_field: str | None = None
    exponent: int | None = None


def _minor_units(params: MinorUnitsParams, _region: str | None) -> Transform:
    """Integer minor units (cents, paise, yen) <-> Decimal, by the currency's ISO 4217 exponent."""

    def exponent(ctx: Context) -> int:
        if params.exponent is not None:
            return params.exponent
        code = params.currency or (ctx.get(params.currency_field) if params.currency_field else None)
        if not code:
            raise RecordMappingError(f"no currency in {params.currency_field!r} to scale minor units")
        return currency_exponent(str(code))

    def forward(value: Any, ctx: Context) -> Decimal:
        return to_decimal(value).scaleb(-exponent(ctx))

    def reverse(value: Any, ctx: Context) -> int:
        scaled = to_decimal(value).scaleb(exponent(ctx))
        if scaled != scaled.to_integral_value():
            raise RecordMappingError(f"{value} has more decimals than its currency allows")
        return int(scaled)

    return Transform("minor_units", forward, reverse)


def split_full_name(value: Any, _ctx: Context) -> tuple[str | None, str | None]:
    """'Ada King Lovelace' -> ('Ada King', 'Lovelace'); a single word is a last name (CRMs require one)."""
    parts = str(value).split()
    if not parts:
        return (None, None)
    if len(parts) == 1:
        return (None, parts[0])
    return (" ".join(parts[:-1]), parts[-1])


def join_full_name(value: Any, _ctx: Context) -> str | None:
    joined = " ".join(str(part).strip() for part in value if part not in (None, ""))
    return joined or None


def _split_name(_params: NoParams, _region: str | None) -> Transform:
    return Transform("split_name", split_full_name, join_full_name)


def _join_name(_params: NoParams, _region: str | None) -> Transform:
    return Transform("join_name", join_full_name, lambda value, ctx: split_full_name(value, ctx))


class SplitParams(Params):
    separator: str = ";"


def _split(params: SplitParams, _region: str | None) -> Transform:
    def forward(value: Any, _ctx: Context) -> list[str]:
        items = value if isinstance(value, list) else str(value).split(params.separator)
        return sorted({str(item).strip() for item in items if str(item).strip()})

    return Transform("split", forward, lambda value, _ctx: params.separator.join(value))


_DOMAIN_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://)?(?:[^@/]*@)?(?:www\.)?([^/:?#]+)", re.IGNORECASE)


def _domain(_params: NoParams, _region: str | None) -> Transform:
    """Bare lower-case domain from a URL, an e-mail address or a host name."""

    def forward(value: Any, _ctx: Context) -> Any:
        match = _DOMAIN_RE.match(str(value).strip())
        return match.group(1).lower().rstrip(".") if match else None

    return Transform("domain", forward, identity)


def _as(name: str, convert: Callable[[Any], Any]) -> Callable[[NoParams, str | None], Transform]:
    def build(_params: NoParams, _region: str | None) -> Transform:
        def forward(value: Any, _ctx: Context) -> Any:
            try:
                return convert(value)
            except (TypeError, ValueError):
                raise RecordMappingError(f"{value!r} is not a valid {name}") from None

        return Transform(name, forward, identity)

    return build


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes", "y", "on"}:
        return True
    if text in {"false", "0", "no", "n", "off", ""}:
        return False
    raise ValueError(text)


Builder = Callable[[Any, str | None], Transform]
REGISTRY: dict[str, tuple[type[Params], Builder]] = {
    "trim": (NoParams, lambda _p, _r: _text("trim", str.strip)),
    "lower": (NoParams, lambda _p, _r: _text("lower", str.lower)),
    "upper": (NoParams, lambda _p, _r: _text("upper", str.upper)),
    "phone": (PhoneParams, _phone),
    "datetime": (DatetimeParams, datetime_transform),
    "date": (NoParams, date_transform),
    "day": (DayParams, day_transform),
    "mm_ss": (NoParams, mm_ss_transform),
    "decimal": (NoParams, _decimal),
    "minor_units": (MinorUnitsParams, _minor_units),
    "scale": (ScaleParams, _scale),
    "map": (MapParams, value_map),
    "split_name": (NoParams, _split_name),
    "join_name": (NoParams, _join_name),
    "split": (SplitParams, _split),
    "domain": (NoParams, _domain),
    "int": (NoParams, _as("int", lambda v: int(str(v).strip()) if not isinstance(v, int) else v)),
    "bool": (NoParams, _as("bool", _boolean)),
    "string": (NoParams, _as("string", str)),
}

# Transforms that turn one source value into several targets, or several sources into one.
FANS_OUT = frozenset({"split_name"})
FANS_IN = frozenset({"join_name"})


def build_transform(spec: str | Mapping[str, Any], default_region: str | None) -> Transform:
    """Build one transform from `name` or `{name: {params}}`; ValueError says what is wrong with it."""
    if isinstance(spec, str):
        name, raw_params = spec, {}
    elif isinstance(spec, Mapping) and len(spec) == 1:
        name, raw_params = next(iter(spec.items()))
        raw_params = raw_params or {}
    else:
        raise ValueError(f"a transform is a name or a one-key mapping {{name: {{params}}}}, got {spec!r}")
    if name not in REGISTRY:
        raise ValueError(f"unknown transform {name!r} (known: {', '.join(sorted(REGISTRY))})")
    params_model, builder = REGISTRY[name]
    if not isinstance(raw_params, Mapping):
        raise ValueError(f"transform {name!r} takes a mapping of parameters, got {raw_params!r}")
    try:
        params = params_model.model_validate(dict(raw_params))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"transform {name!r}: {problems}") from None
    return builder(params, default_region)


def coercer(python_type: type) -> TransformFn | None:
    """The last step of every inbound rule: make the value fit its canonical column, or fail the record."""
    if python_type is str:
        return lambda value, _ctx: value if isinstance(value, str) else str(value)
    if python_type is int:
        return _as("int", lambda v: v if isinstance(v, int) else int(to_decimal(v)))(NoParams(), None).forward
    if python_type is Decimal:
        return lambda value, _ctx: to_decimal(value)
    if python_type is datetime:
        return lambda value, _ctx: parse_utc(value)
    if python_type is date:
        return to_date
    if python_type is list:
        return lambda value, _ctx: value if isinstance(value, list) else [value]
    return None
