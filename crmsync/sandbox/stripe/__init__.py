"""Stripe emulator (customers, payment intents, charges, invoices, refunds, events, signed webhooks)."""

from crmsync.sandbox.framework.emulator import register_emulator
from crmsync.sandbox.stripe.app import create_stripe_emulator
from crmsync.sandbox.stripe.errors import STRIPE_FAULTS

register_emulator("stripe", create_stripe_emulator)

__all__ = ["STRIPE_FAULTS", "create_stripe_emulator"]
