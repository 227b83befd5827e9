"""Stripe's request encoding: `application/x-www-form-urlencoded` (and query strings) with bracket nesting.

stripe-python sends `metadata[crm_id]=L1`, `expand[0]=customer`, `created[gte]=1700000000`; other clients
send `expand[]=customer`. Both decode to the same nested dicts and lists here, values staying strings
(Stripe itself coerces per parameter).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from crmsync.sandbox.stripe.errors import invalid_request

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")

Params = dict[str, Any]


def _listify(node: Any) -> Any:
    """Dicts whose keys are all indices (`[0]`, `[1]`, or appended `[]`) become lists, in index order."""
    if isinstance(node, dict):
        node = {key: _listify(value) for key, value in node.items()}
        if node and all(isinstance(key, int) for key in node):
            return [node[key] for key in sorted(node)]
        if any(isinstance(key, int) for key in node):
            raise invalid_request("Invalid array: mixed indexed and named keys in one parameter.")
    return node


def parse_params(body: str) -> Params:
    """Decode `a[b][c]=v&list[]=x&list[]=y` into nested dicts/lists of strings."""
    root: dict[Any, Any] = {}
    for raw_key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY.match(raw_key)
        if match is None:
            raise invalid_request(f"Invalid parameter name: {raw_key}", param=raw_key)
        path: list[str] = [match.group(1), *_PART.findall(match.group(2))]
        node: dict[Any, Any] = root
        for index, part in enumerate(path):
            last = index == len(path) - 1
            key: Any = part
            if part == "":
                key = sum(1 for k in node if isinstance(k, int))  # `[]` appends
            elif part.isdigit():
                key = int(part)
            if last:
                node[key] = value
            else:
                child = node.setdefault(key, {})
                if not isinstance(child, dict):
                    raise invalid_request(f"Invalid parameter: {raw_key} mixes a value and nested keys.", param=raw_key)
                node = child
    return _listify(root)  # type: ignore[no-any-return]


def as_int(params: Params, name: str, *, default: int | None = None, minimum: int | None = None,
           maximum: int | None = None) -> int | None:
    """An integer parameter, 400 `parameter_invalid_integer` (Stripe's wording) when it is not one."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise invalid_request(f"Invalid integer: {raw}", param=name, code="parameter_invalid_integer") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise invalid_request(f"This value must be {bounds}.", param=name, code="parameter_invalid_integer")
    return value


def as_bool(params: Params, name: str, default: bool = False) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    text = str(raw).lower()
    if text not in ("true", "false"):
        raise invalid_request(f"Invalid boolean: {raw}", param=name)
    return text == "true"


def as_list(params: Params, name: str) -> list[str]:
    raw = params.get(name)
    if raw is None or raw == "":
        return []
    return [str(item) for item in raw] if isinstance(raw, list) else [str(raw)]


def metadata_update(current: dict[str, str], raw: Any) -> dict[str, str]:
    """Stripe metadata semantics: keys merge, an empty value deletes a key, `metadata=` clears all."""
    if raw is None:
        return current
    if raw == "":
        return {}
    if not isinstance(raw, dict):
        raise invalid_request("Invalid object", param="metadata")
    merged = dict(current)
    for key, value in raw.items():
        if len(str(key)) > 40 or len(str(value)) > 500:
            raise invalid_request("Metadata keys are at most 40 characters and values at most 500.",
                                  param=f"metadata[{key}]")
        if value == "":
            merged.pop(str(key), None)
        else:
            merged[str(key)] = str(value)
    if len(merged) > 50:
        raise invalid_request("Metadata can have at most 50 keys.", param="metadata")
    return merged
