"""Route registration shared by the emulators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


def route(router: APIRouter, method: str, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
    """Register a handler for `path` and `path/`: vendor SDKs are not consistent about trailing slashes."""

    def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
        for variant in (path, path + "/"):
            router.add_api_route(variant, handler, methods=[method], **kwargs)
        return handler

    return decorator
