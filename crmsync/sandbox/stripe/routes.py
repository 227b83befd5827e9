"""The `/v1` route table: (method, path pattern) → handler(account, params, ids) → response object.

List endpoints share one implementation (`limit`, `starting_after`, `ending_before`, `created[...]` plus
per-resource filters, as spec3 lists them); `expand[]` replaces ids by objects on the paths asked for.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crmsync.sandbox.stripe import billing, payments, webhooks
from crmsync.sandbox.stripe.account import MAX_LIST_LIMIT, ListQuery, StripeAccount, created_filter
from crmsync.sandbox.stripe.errors import invalid_request
from crmsync.sandbox.stripe.forms import Params, as_int, as_list
from crmsync.sandbox.stripe.objects import Obj

Handler = Callable[[StripeAccount, Params, tuple[str, ...]], Obj]
MAX_EVENT_TYPES = 20
# Per-list equality filters (spec3 2023-08-16).
LIST_FILTERS: dict[str, tuple[str, ...]] = {
    "customers": ("email",), "payment_intents": ("customer",), "charges": ("customer", "payment_intent"),
    "invoices": ("customer", "status", "collection_method"), "refunds": ("charge", "payment_intent"),
    "invoiceitems": ("customer", "invoice"), "events": (),
}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


def list_query(params: Params) -> ListQuery:
    if params.get("starting_after") and params.get("ending_before"):
        raise invalid_request("You may only specify one of these parameters: ending_before, starting_after.")
    limit = as_int(params, "limit", default=10, minimum=1, maximum=MAX_LIST_LIMIT)
    assert limit is not None
    return ListQuery(limit=limit, starting_after=params.get("starting_after") or None,
                     ending_before=params.get("ending_before") or None, created=created_filter(params.get("created")))


def _event_type_filter(params: Params) -> Callable[[Obj], bool] | None:
    single, several = params.get("type"), as_list(params, "types")
    if single and several:
        raise invalid_request("You may only specify one of these parameters: type, types.", param="types")
    if len(several) > MAX_EVENT_TYPES:
        raise invalid_request(f"You may pass at most {MAX_EVENT_TYPES} event types.", param="types")
    patterns = [str(single)] if single else several
    if not patterns:
        return None

    def keep(event: Obj) -> bool:  # `customer.*` matches every customer event, as `type` allows
        return any(event["type"] == p or (p.endswith(".*") and event["type"].startswith(p[:-1])) for p in patterns)

    return keep


def lister(kind: str) -> Handler:
    def handle(account: StripeAccount, params: Params, _ids: tuple[str, ...]) -> Obj:
        filters = {name: str(params[name]) for name in LIST_FILTERS[kind] if params.get(name)}
        type_filter = _event_type_filter(params) if kind == "events" else None

        def keep(row: Obj) -> bool:
            return all(row.get(name) == value for name, value in filters.items()) and (
                type_filter is None or type_filter(row))

        return account.page(kind, list_query(params), f"/v1/{kind}", keep)

    return handle


def getter(kind: str) -> Handler:
    return lambda account, _params, ids: account.get(kind, ids[0])


def acting(kind: str, action: Callable[[StripeAccount, Obj, Params], Obj]) -> Handler:
    return lambda account, params, ids: action(account, account.get(kind, ids[0]), params)


def creating(action: Callable[[StripeAccount, Params], Obj]) -> Handler:
    return lambda account, params, _ids: action(account, params)


def _expand_path(account: StripeAccount, node: Any, path: list[str]) -> Any:
    if not path or node is None:
        return node
    head, rest = path[0], path[1:]
    if isinstance(node, list):
        return [_expand_path(account, item, path) for item in node]
    if not isinstance(node, dict) or head not in node:
        return node
    value = node[head]
    if not rest and isinstance(value, str):
        found = account.find(value)
        node[head] = copy.deepcopy(found) if found is not None else value
    else:
        node[head] = _expand_path(account, value, rest)
    return node


def expand(account: StripeAccount, body: Obj, params: Params) -> Obj:
    paths = as_list(params, "expand")
    if not paths:
        return body
    body = copy.deepcopy(body)
    with account.lock:
        for path in paths:
            _expand_path(account, body, path.split("."))
    return body


_ID = r"([A-Za-z0-9_]+)"


def _routes() -> list[Route]:
    table: list[tuple[str, str, Handler]] = [
        ("GET", "/v1/customers", lister("customers")),
        ("POST", "/v1/customers", creating(billing.create_customer)),
        ("GET", f"/v1/customers/{_ID}", getter("customers")),
        ("POST", f"/v1/customers/{_ID}", acting("customers", billing.update_customer)),
        ("DELETE", f"/v1/customers/{_ID}", acting("customers", lambda a, c, _p: billing.delete_customer(a, c))),
        ("GET", "/v1/payment_intents", lister("payment_intents")),
        ("POST", "/v1/payment_intents", creating(payments.create_payment_intent)),
        ("GET", f"/v1/payment_intents/{_ID}", getter("payment_intents")),
        ("POST", f"/v1/payment_intents/{_ID}", acting("payment_intents", payments.update_payment_intent)),
        ("POST", f"/v1/payment_intents/{_ID}/confirm", acting("payment_intents", payments.confirm_payment_intent)),
        ("POST", f"/v1/payment_intents/{_ID}/capture", acting("payment_intents", payments.capture_payment_intent)),
        ("POST", f"/v1/payment_intents/{_ID}/cancel", acting("payment_intents", payments.cancel_payment_intent)),
        ("GET", "/v1/charges", lister("charges")),
        ("POST", "/v1/charges", creating(payments.create_charge)),
        ("GET", f"/v1/charges/{_ID}", getter("charges")),
        ("POST", f"/v1/charges/{_ID}", acting("charges", payments.update_charge)),
        ("GET", "/v1/refunds", lister("refunds")),
        ("POST", "/v1/refunds", creating(payments.create_refund)),
        ("GET", f"/v1/refunds/{_ID}", getter("refunds")),
        ("GET", "/v1/invoiceitems", lister("invoiceitems")),
        ("POST", "/v1/invoiceitems", creating(billing.create_invoice_item)),
        ("GET", "/v1/invoices", lister("invoices")),
        ("POST", "/v1/invoices", creating(billing.create_invoice)),
        ("GET", f"/v1/invoices/{_ID}", getter("invoices")),
        ("POST", f"/v1/invoices/{_ID}", acting("invoices", billing.update_invoice)),
        ("POST", f"/v1/invoices/{_ID}/finalize", acting("invoices", billing.finalize_invoice)),
        ("POST", f"/v1/invoices/{_ID}/pay", acting("invoices", billing.pay_invoice)),
        ("GET", "/v1/events", lister("events")),
        ("GET", f"/v1/events/{_ID}", getter("events")),
        ("GET", "/v1/webhook_endpoints", lambda a, p, i: webhooks.list_endpoints(a, p)),
        ("POST", "/v1/webhook_endpoints", lambda a, p, i: webhooks.create_endpoint(a, p)),
        ("DELETE", f"/v1/webhook_endpoints/{_ID}", lambda a, p, i: webhooks.delete_endpoint(a, i[0])),
    ]
    return [Route(method, re.compile(f"^{path}/?$"), handler) for method, path, handler in table]


ROUTES = _routes()


def resolve(method: str, path: str) -> tuple[Handler, tuple[str, ...]] | None:
    """The handler for a request, or None (→ 404 "Unrecognized request URL")."""
    for route in ROUTES:
        if route.method == method:
            match = route.pattern.match(path)
            if match is not None:
                return route.handler, match.groups()
    return None
