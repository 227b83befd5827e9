"""Zoho CRM emulator (v8 API, accounts servers per data centre, COQL, notifications, credits)."""

from crmsync.sandbox.framework.emulator import register_emulator
from crmsync.sandbox.zoho.app import ZOHO_FAULTS, create_zoho_emulator

register_emulator("zoho", create_zoho_emulator)

__all__ = ["ZOHO_FAULTS", "create_zoho_emulator"]
