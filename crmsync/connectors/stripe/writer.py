"""Write-back to Stripe customers: mapped fields plus the canonical id in `metadata[crmsync_id]`.

Each call carries an idempotency key derived from the canonical id and the exact parameters, so a retried
push (after a timeout, or a crash before the checkpoint) is answered from Stripe's idempotency cache instead
of creating a second customer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from crmsync.connectors.base import AuthenticationError, ConnectorError, TransientError, WriteItem, WriteResult
from crmsync.connectors.stripe.client import StripeApiClient

WRITABLE_STREAMS = ("customers",)
NOT_WRITABLE_KEYS = frozenset({"id", "object", "created", "livemode", "deleted"})


def _form_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _form_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, Decimal):
        return str(value)
    return value


def idempotency_key(canonical_id: str, action: str, params: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:24]
    return f"crmsync-{action}-{canonical_id}-{digest}"


class StripeWriter:
    def __init__(self, client: StripeApiClient) -> None:
        self.client = client
        self.external_id_key = client.settings.external_id_key

    def params(self, item: WriteItem) -> dict[str, Any]:
        fields = {k: _form_value(v) for k, v in item.payload.items() if k not in NOT_WRITABLE_KEYS and v is not None}
        metadata = {**(fields.pop("metadata", None) or {}), self.external_id_key: item.canonical_id}
        return {**fields, "metadata": metadata}

    def write(self, stream: str, items: Sequence[WriteItem]) -> list[WriteResult]:
        if stream not in WRITABLE_STREAMS:
            raise ConnectorError(f"stripe {self.client.connection}: write-back goes to customers only, not {stream}")
        return [self._write_one(item) for item in items]

    def _write_one(self, item: WriteItem) -> WriteResult:
        if item.delete:  # the connector has no DELETE_WRITES capability: never turn one into an update
            return WriteResult(item.canonical_id, ok=False, external_id=item.external_id, error=(
                f"stripe {self.client.connection}: deletes are not written to Stripe (a CRM deleting a lead does "
                "not delete a payment provider's customer)"))
        params = self.params(item)
        customers = self.client.v1.customers
        try:
            if item.external_id is None:
                options = {"idempotency_key": idempotency_key(item.canonical_id, "create", params)}
                created = self.client.call("creating a customer", customers.create, params=params, options=options)
                return WriteResult(item.canonical_id, ok=True, external_id=created.id, created=True)
            options = {"idempotency_key": idempotency_key(item.canonical_id, f"update-{item.external_id}", params)}
            self.client.call(f"updating customer {item.external_id}", customers.update, item.external_id,
                             params=params, options=options)
            return WriteResult(item.canonical_id, ok=True, external_id=item.external_id)
        except AuthenticationError:
            raise  # every other item would fail the same way: stop the push
        except TransientError as exc:
            return WriteResult(item.canonical_id, ok=False, external_id=item.external_id, error=str(exc),
                               retryable=True)
        except ConnectorError as exc:
            return WriteResult(item.canonical_id, ok=False, external_id=item.external_id, error=str(exc))
