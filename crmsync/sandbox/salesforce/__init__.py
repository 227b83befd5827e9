"""Salesforce emulator (REST, SOQL, composite collections, Bulk 2.0 query, Outbound Messages)."""

from crmsync.sandbox.framework.emulator import register_emulator
from crmsync.sandbox.salesforce.app import SALESFORCE_FAULTS, create_salesforce_emulator

register_emulator("salesforce", create_salesforce_emulator)

__all__ = ["SALESFORCE_FAULTS", "create_salesforce_emulator"]
