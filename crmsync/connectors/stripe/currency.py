"""Stripe amounts → Decimal by Stripe's own currency exponents, which differ from ISO 4217 in places.

Stripe's zero-decimal list (https://stripe.com/docs/currencies#zero-decimal) has MGA (ISO: 2 digits) and
leaves out ISK, which ISO gives 0 digits but Stripe keeps two-decimal in the API for backwards
compatibility (amounts must be multiples of 100 there). HUF and TWD are two-decimal in the API too. So
`crmsync.mappings` minor_units, which follows ISO 4217, is wrong for Stripe ISK and MGA amounts; the
connector scales amounts here and hands the mapping a ready Decimal.
"""

from __future__ import annotations

from decimal import Decimal

ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
                          "XAF", "XOF", "XPF"})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def stripe_exponent(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    return 3 if code in THREE_DECIMAL else 2


def stripe_amount(minor_units: int | None, currency: str) -> Decimal | None:
    """`1999, "usd"` → Decimal("19.99"); `500, "jpy"` → Decimal("500"); `10000, "isk"` → Decimal("100.00")."""
    if minor_units is None:
        return None
    return Decimal(int(minor_units)).scaleb(-stripe_exponent(currency))
