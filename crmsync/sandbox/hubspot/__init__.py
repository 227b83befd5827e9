"""HubSpot emulator (CRM v3 objects, search, batch, properties, associations v4, OAuth, rate limits, webhooks)."""

from crmsync.sandbox.framework.emulator import register_emulator
from crmsync.sandbox.hubspot.app import HUBSPOT_FAULTS, create_hubspot_emulator

register_emulator("hubspot", create_hubspot_emulator)

__all__ = ["HUBSPOT_FAULTS", "create_hubspot_emulator"]
