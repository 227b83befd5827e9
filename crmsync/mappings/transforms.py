"""Value transforms for mapping rules: pure functions, each with its inverse when one exists.

A transform is built from its name and parameters when a mapping loads. `forward` turns a source value into
the canonical value; `reverse` turns it back for write-back. A transform whose `reverse` is None cannot serve
a rule with direction `out` or `both`, and the loader rejects such a rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError

from crmsync.errors import RecordMappingError
from crmsync.mappings.phones import to_e164

Context = Mapping[str, Any]
TransformFn = Callable[[Any, Context], Any]

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


def identity(value: Any, _ctx: Context) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Transform:
    name: str
    forward: TransformFn
    reverse: TransformFn | None


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoParams(_Params):
    pass


def _text(name: str, fn: Callable[[str], str]) -> Transform:
    def forward(value: Any, _ctx: Context) -> Any:
        return fn(value) if isinstance(value, str) else value

    return Transform(name, forward, identity)


class PhoneParams(_Params):
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


class DatetimeParams(_Params):
    out_format: Literal["iso", "salesforce", "epoch_s", "epoch_ms"] = "iso"


EPOCH_MS_THRESHOLD = 100_000_000_000  # larger epoch numbers are milliseconds (year 5138 in seconds)


def parse_utc(value: Any) -> datetime:
    """UTC datetime from ISO text (`Z`, `+0000`, `+05:30`, naive = UTC) or epoch seconds / milliseconds."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if (isinstance(value, int | float) and not isinstance(value, bool)) or (
        isinstance(value, str) and value.strip().lstrip("-").isdigit()
    ):
        number = float(value)
        if abs(number) >= EPOCH_MS_THRESHOLD:
            number /= 1000
        return datetime.fromtimestamp(number, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RecordMappingError(f"{value!r} is not an ISO 8601 timestamp or epoch number") from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    raise RecordMappingError(f"{value!r} is not a timestamp")


def format_datetime(value: datetime, out_format: str) -> Any:
    value = value.astimezone(UTC)
    if out_format == "epoch_ms":
        return int(value.timestamp() * 1000)
    if out_format == "epoch_s":
        return int(value.timestamp())
    if out_format == "salesforce":
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"
    return value.isoformat().replace("+00:00", "Z")


def _datetime(params: DatetimeParams, _region: str | None) -> Transform:
    return Transform(
        "datetime",
        lambda value, _ctx: parse_utc(value),
        lambda value, _ctx: format_datetime(value, params.out_format),
    )


def _date(_params: NoParams, _region: str | None) -> Transform:
    def forward(value: Any, _ctx: Context) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            raise RecordMappingError(f"{value!r} is not an ISO date") from None

    return Transform("date", forward, lambda value, _ctx: value.isoformat())


class DayParams(_Params):
    time_zone: str = "UTC"


def _day(params: DayParams, _region: str | None) -> Transform:
    """A date field fed by a timestamp (Salesforce Task.ActivityDate from a call's start): write-back sends the
    timestamp's calendar day in `time_zone`; a day read back is its midnight there (a lossy read, so rules
    using it are usually `out`)."""
    try:
        zone = ZoneInfo(params.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"transform 'day': unknown time zone {params.time_zone!r}") from None
    as_date = _date(NoParams(), None).forward

    def forward(value: Any, ctx: Context) -> datetime:
        return datetime.combine(as_date(value, ctx), time(), zone).astimezone(UTC)

    return Transform("day", forward, lambda value, _ctx: parse_utc(value).astimezone(zone).date().isoformat())


def to_decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise RecordMappingError(f"{value!r} is not a number") from None


def _decimal(_params: NoParams, _region: str | None) -> Transform:
    return Transform("decimal", lambda value, _ctx: to_decimal(value), identity)


class ScaleParams(_Params):
    factor: Decimal
    integer: bool = True


def _scale(params: ScaleParams, _region: str | None) -> Transform:
    """Multiply by `factor` (e.g. 0.001 for milliseconds -> seconds); write-back divides."""

    def apply(value: Any, factor: Decimal) -> Any:
        scaled = to_decimal(value) * factor
        return int(scaled.to_integral_value()) if params.integer else scaled

    return Transform(
        "scale", lambda value, _ctx: apply(value, params.factor), lambda value, _ctx: apply(value, 1 / params.factor)
    )


class MinorUnitsParams(_Params):
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


class MapParams(_Params):
    values: dict[str, Any]
    reverse: dict[str, Any] | None = None
    unknown: Literal["keep", "error", "default"] = "keep"
    default: Any = None
    case_insensitive: bool = False


def _value_map(params: MapParams, _region: str | None) -> Transform:
    fold = (lambda v: str(v).casefold()) if params.case_insensitive else str
    table = {fold(k): v for k, v in params.values.items()}

    def lookup(mapping: dict[str, Any], value: Any, key_fn: Callable[[Any], str]) -> Any:
        key = key_fn(value)
        if key in mapping:
            return mapping[key]
        if params.unknown == "error":
            raise RecordMappingError(f"{value!r} is not in the value map ({', '.join(sorted(mapping))})")
        return params.default if params.unknown == "default" else value

    reverse_table = params.reverse
    if reverse_table is None:
        targets = [str(v) for v in params.values.values()]
        if len(set(targets)) == len(targets):  # injective: the map can be read backwards
            reverse_table = {str(v): k for k, v in params.values.items()}
    reverse: TransformFn | None = None
    if reverse_table is not None:
        frozen_reverse = dict(reverse_table)
        reverse = lambda value, _ctx: lookup(frozen_reverse, value, str)  # noqa: E731
    return Transform("map", lambda value, _ctx: lookup(table, value, fold), reverse)


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


class SplitParams(_Params):
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
REGISTRY: dict[str, tuple[type[_Params], Builder]] = {
    "trim": (NoParams, lambda _p, _r: _text("trim", str.strip)),
    "lower": (NoParams, lambda _p, _r: _text("lower", str.lower)),
    "upper": (NoParams, lambda _p, _r: _text("upper", str.upper)),
    "phone": (PhoneParams, _phone),
    "datetime": (DatetimeParams, _datetime),
    "date": (NoParams, _date),
    "day": (DayParams, _day),
    "decimal": (NoParams, _decimal),
    "minor_units": (MinorUnitsParams, _minor_units),
    "scale": (ScaleParams, _scale),
    "map": (MapParams, _value_map),
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
        return _date(NoParams(), None).forward
    if python_type is list:
        return lambda value, _ctx: value if isinstance(value, list) else [value]
    return None
