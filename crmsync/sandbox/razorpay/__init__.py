"""Razorpay emulator (customers, orders, payments, refunds; skip-paged lists; signed webhooks)."""

from crmsync.sandbox.framework.emulator import register_emulator
from crmsync.sandbox.razorpay.app import create_razorpay_emulator
from crmsync.sandbox.razorpay.errors import RAZORPAY_FAULTS

register_emulator("razorpay", create_razorpay_emulator)

__all__ = ["RAZORPAY_FAULTS", "create_razorpay_emulator"]
