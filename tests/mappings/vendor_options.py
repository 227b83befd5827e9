"""Canonical vocabularies of the enumerated fields and the vendors' default options, shared by the vocabulary
tests and the write tests against the emulators."""

from __future__ import annotations

from crmsync.sandbox.hubspot import schema as hubspot_emulator
from crmsync.sandbox.zoho import modules as zoho_emulator

# The canonical industry vocabulary: Salesforce's standard Industry picklist, plus real estate.
INDUSTRIES = ("agriculture", "apparel", "banking", "biotechnology", "chemicals", "communications", "construction",
              "consulting", "education", "electronics", "energy", "engineering", "entertainment", "environmental",
              "finance", "food_beverage", "government", "healthcare", "hospitality", "insurance", "machinery",
              "manufacturing", "media", "not_for_profit", "real_estate", "recreation", "retail", "shipping",
              "technology", "telecommunications", "transportation", "utilities", "other")
LEAD_STATUSES = ("new", "working", "nurturing", "qualified", "unqualified")
DEAL_STAGES = ("prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost")
CALL_DIRECTIONS = ("inbound", "outbound", "internal", "missed")

# Vendors' defaults. Salesforce: the standard Industry picklist. HubSpot: the default `industry` options
# (LinkedIn's industries). Zoho: the classic Industry picklist and the values newer orgs add.
SALESFORCE_INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction", "Consulting",
    "Education", "Electronics", "Energy", "Engineering", "Entertainment", "Environmental", "Finance",
    "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance", "Machinery", "Manufacturing", "Media",
    "Not For Profit", "Recreation", "Retail", "Shipping", "Technology", "Telecommunications", "Transportation",
    "Utilities", "Other")
HUBSPOT_INDUSTRIES = hubspot_emulator.INDUSTRIES  # the emulator holds a portal's default options
ZOHO_INDUSTRIES = (*zoho_emulator.INDUSTRIES, "Communications", "Consulting", "Education", "Financial Services",
                   "Manufacturing", "Real Estate", "Technology")
