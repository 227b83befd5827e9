"""Helpers for the Stripe emulator and connector tests; the fixtures live in `stripe_fixtures` (a plugin).

Clients are stripe-python's own `StripeClient` over real HTTPS; the sandbox CA is pinned on the requests
session because stripe-python passes its bundled CA file as `verify` on every call.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import stripe
from sandbox_support import PinnedCaSession, SandboxHandle

from crmsync.sandbox import SandboxRunner

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "specs" / "stripe" / "spec3.yaml"
STRIPE_OPTIONS = {
    "webhook_retry_initial_seconds": 0.05,
    "webhook_retry_max_seconds": 0.2,
    "rate_limit_per_second": 1000,
}


@dataclass
class StripeSandbox(SandboxHandle):
    runner: SandboxRunner
    sessions: list[requests.Session] = field(default_factory=list)  # SDK clients' sessions, closed at the end

    @property
    def api_key(self) -> str:
        return self.endpoint.credentials["api_key"]

    def raw(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> requests.Response:
        """A hand-made API call, for status codes and headers the SDK hides."""
        headers = {"Authorization": f"Bearer {key or self.api_key}", **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.base_url}{path}", headers=headers, **kwargs)

    def advance(self, seconds: float) -> None:
        self.admin("POST", "clock/advance", json={"seconds": seconds})

    def client(self, **overrides: Any) -> stripe.StripeClient:
        api_key = overrides.pop("api_key", self.api_key)
        session = PinnedCaSession(self.endpoint.ca_bundle)
        self.sessions.append(session)
        http_client = stripe.RequestsClient(session=session, timeout=10)
        options: dict[str, Any] = {"base_addresses": {"api": self.base_url}, "http_client": http_client,
                                   "max_network_retries": 0, **overrides}
        return stripe.StripeClient(api_key, **options)


NULL_ONLY = {"type": "string", "nullable": True, "enum": [None]}


def allow_documented_nulls(node: Any) -> None:
    """Stripe marks nullable fields with `nullable: true` only. OpenAPI 3.0.3 says `nullable` counts only next
    to `type` and that an `enum` must list null itself, so strict validators reject the nulls Stripe returns
    for `{anyOf: [{$ref}], nullable: true}` and nullable enums. Make those nulls explicit so the spec reads as
    Stripe means it (the only change made to it)."""
    if isinstance(node, dict):
        if node.get("nullable") and isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        for key in ("anyOf", "oneOf"):
            if node.get("nullable") and "type" not in node and isinstance(node.get(key), list):
                node[key] = [*node[key], NULL_ONLY]
        for value in node.values():
            allow_documented_nulls(value)
    elif isinstance(node, list):
        for value in node:
            allow_documented_nulls(value)


def schema_problems(exc: BaseException) -> list[str]:
    """The leaf schema errors under openapi-core's exception, as `path: message` lines."""
    found: list[str] = []
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        item = pending.pop()
        if id(item) in seen or item is None:
            continue
        seen.add(id(item))
        errors = getattr(item, "schema_errors", None)
        if errors:
            pending.extend(errors)
        context = getattr(item, "context", None)
        if context:
            pending.extend(context)
        elif hasattr(item, "json_path"):
            found.append(f"{item.json_path}: {item.message}")
        pending.append(getattr(item, "__cause__", None))
    return sorted(set(found))


def load_spec_validator() -> Callable[[str, str, requests.Response], None]:
    """Validate a raw response against Stripe's official OpenAPI spec (2023-08-16), parsed once per session.

    The spec is the vendor's own file, so its self-validation (slow on 4 MB) is skipped; responses are checked
    with openapi-core's response validator against the operation's documented schema.
    """
    import yaml
    from openapi_core import Config, OpenAPI
    from openapi_core.testing import MockRequest, MockResponse

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open("rb") as handle:
        spec = yaml.load(handle, Loader=loader)  # a safe loader, C-accelerated when available
    allow_documented_nulls(spec)
    api = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))

    def validate(method: str, path: str, response: requests.Response) -> None:
        request = MockRequest("https://api.stripe.com", method.lower(), path)
        mock = MockResponse(response.content, status_code=response.status_code,
                            content_type=response.headers["content-type"].split(";")[0])
        try:
            api.validate_response(request, mock)
        except Exception as exc:  # openapi-core's error tree; show its cause, which names the schema problem
            detail = json.dumps(response.json(), indent=1)[:1500]
            problems = "\n  ".join(schema_problems(exc)) or str(exc)
            raise AssertionError(f"{method} {path} ({response.status_code}) does not match spec3:\n  {problems}"
                                 f"\n{detail}") from exc

    return validate
