"""Dotted paths into vendor payloads (`properties.email`, `Who_Id.id`, `associations.contacts.0`): getters built
once per rule, and the setter write-back uses."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Getter = Callable[[Mapping[str, Any]], Any]


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def getter(path: str) -> Getter:
    segments = path.split(".")
    if len(segments) == 1:
        return lambda payload: payload.get(path)
    if len(segments) == 2 and not segments[1].isdigit():
        outer, inner = segments
        nested = _walk(segments)

        def get_nested(payload: Mapping[str, Any]) -> Any:
            current = payload.get(outer)
            if type(current) is dict:  # the usual shape ({"properties": {...}}), read directly
                return current.get(inner)
            return nested(payload)

        return get_nested
    return _walk(segments)


def _walk(segments: list[str]) -> Getter:
    def get(payload: Mapping[str, Any]) -> Any:
        current: Any = payload
        for segment in segments:
            # `type(...) is dict` first: the usual case, without the slower Mapping ABC check.
            if type(current) is dict or isinstance(current, Mapping):
                current = current.get(segment)
            elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
                current = current[int(segment)]
            else:
                return None
        return current

    return get


def set_path(payload: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    current = payload
    for segment in parents:
        current = current.setdefault(segment, {})
    current[leaf] = value
