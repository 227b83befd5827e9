"""Object types, property definitions and association type ids of the emulated HubSpot portal.

Property values travel as strings (HubSpot's wire format); a definition says how to validate, compare and
normalise them. Custom properties are added at run time through the properties API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PropertyType = Literal["string", "number", "date", "datetime", "enumeration", "bool"]
FIELD_TYPES = {"string": "text", "number": "number", "date": "date", "datetime": "date", "enumeration": "select",
               "bool": "booleancheckbox"}


@dataclass(frozen=True)
class ObjectType:
    """One CRM object type: its path name, type id and the properties HubSpot stamps on every write."""

    name: str
    type_id: str
    singular: str
    modified_property: str
    created_property: str
    default_properties: tuple[str, ...]
    required: tuple[str, ...] = ()  # properties a create must set (VALIDATION_ERROR otherwise)


OBJECT_TYPES: dict[str, ObjectType] = {
    "contacts": ObjectType("contacts", "0-1", "contact", "lastmodifieddate", "createdate",
                           ("firstname", "lastname", "email")),
    "companies": ObjectType("companies", "0-2", "company", "hs_lastmodifieddate", "createdate", ("name", "domain")),
    "deals": ObjectType("deals", "0-3", "deal", "hs_lastmodifieddate", "createdate",
                        ("dealname", "amount", "closedate", "pipeline", "dealstage")),
    # HubSpot's calls guide marks hs_timestamp "Required": it places the call on the record timeline.
    "calls": ObjectType("calls", "0-48", "call", "hs_lastmodifieddate", "hs_createdate",
                        ("hs_call_title", "hs_timestamp"), required=("hs_timestamp",)),
}
TYPE_ID_ALIASES = {spec.type_id: name for name, spec in OBJECT_TYPES.items()} | {
    spec.singular: name for name, spec in OBJECT_TYPES.items()}


@dataclass
class PropertyDef:
    name: str
    type: PropertyType = "string"
    label: str = ""
    options: list[dict[str, object]] = field(default_factory=list)
    read_only: bool = False
    unique: bool = False
    hubspot_defined: bool = True
    group_name: str = "contactinformation"
    description: str = ""
    field_type: str | None = None
    created_ms: int = 0
    archived: bool = False

    def option_values(self) -> set[str]:
        return {str(option["value"]) for option in self.options}

    def describe(self, iso: str) -> dict[str, object]:
        return {
            "name": self.name, "label": self.label or self.name, "type": self.type,
            "fieldType": self.field_type or FIELD_TYPES[self.type], "groupName": self.group_name,
            "description": self.description, "options": self.options, "displayOrder": -1,
            "calculated": False, "externalOptions": False, "hasUniqueValue": self.unique, "hidden": False,
            "hubspotDefined": self.hubspot_defined, "formField": not self.read_only,
            "modificationMetadata": {"archivable": not self.hubspot_defined, "readOnlyDefinition": self.hubspot_defined,
                                     "readOnlyValue": self.read_only},
            "createdAt": iso, "updatedAt": iso, "archived": self.archived,
        }


def _options(*values: str) -> list[dict[str, object]]:
    return [{"label": value.replace("_", " ").title(), "value": value, "displayOrder": index, "hidden": False}
            for index, value in enumerate(values)]


LIFECYCLE_STAGES = ("subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer",
                    "evangelist", "other")
LEAD_STATUSES = ("NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT", "CONNECTED",
                 "BAD_TIMING")
DEAL_STAGES = ("appointmentscheduled", "qualifiedtobuy", "presentationscheduled", "decisionmakerboughtin",
               "contractsent", "closedwon", "closedlost")
# The default options of the company `industry` property (internal values), as a portal has them out of the box.
INDUSTRIES = (
    "ACCOUNTING", "AIRLINES_AVIATION", "ALTERNATIVE_DISPUTE_RESOLUTION", "ALTERNATIVE_MEDICINE", "ANIMATION",
    "APPAREL_FASHION", "ARCHITECTURE_PLANNING", "ARTS_AND_CRAFTS", "AUTOMOTIVE", "AVIATION_AEROSPACE", "BANKING",
    "BIOTECHNOLOGY", "BROADCAST_MEDIA", "BUILDING_MATERIALS", "BUSINESS_SUPPLIES_AND_EQUIPMENT", "CAPITAL_MARKETS",
    "CHEMICALS", "CIVIC_SOCIAL_ORGANIZATION", "CIVIL_ENGINEERING", "COMMERCIAL_REAL_ESTATE",
    "COMPUTER_NETWORK_SECURITY", "COMPUTER_GAMES", "COMPUTER_HARDWARE", "COMPUTER_NETWORKING", "COMPUTER_SOFTWARE",
    "INTERNET", "CONSTRUCTION", "CONSUMER_ELECTRONICS", "CONSUMER_GOODS", "CONSUMER_SERVICES", "COSMETICS", "DAIRY",
    "DEFENSE_SPACE", "DESIGN", "EDUCATION_MANAGEMENT", "E_LEARNING", "ELECTRICAL_ELECTRONIC_MANUFACTURING",
    "ENTERTAINMENT", "ENVIRONMENTAL_SERVICES", "EVENTS_SERVICES", "EXECUTIVE_OFFICE", "FACILITIES_SERVICES",
    "FARMING", "FINANCIAL_SERVICES", "FINE_ART", "FISHERY", "FOOD_BEVERAGES", "FOOD_PRODUCTION", "FUND_RAISING",
    "FURNITURE", "GAMBLING_CASINOS", "GLASS_CERAMICS_CONCRETE", "GOVERNMENT_ADMINISTRATION", "GOVERNMENT_RELATIONS",
    "GRAPHIC_DESIGN", "HEALTH_WELLNESS_AND_FITNESS", "HIGHER_EDUCATION", "HOSPITAL_HEALTH_CARE", "HOSPITALITY",
    "HUMAN_RESOURCES", "IMPORT_AND_EXPORT", "INDIVIDUAL_FAMILY_SERVICES", "INDUSTRIAL_AUTOMATION",
    "INFORMATION_SERVICES", "INFORMATION_TECHNOLOGY_AND_SERVICES", "INSURANCE", "INTERNATIONAL_AFFAIRS",
    "INTERNATIONAL_TRADE_AND_DEVELOPMENT", "INVESTMENT_BANKING", "INVESTMENT_MANAGEMENT", "JUDICIARY",
    "LAW_ENFORCEMENT", "LAW_PRACTICE", "LEGAL_SERVICES", "LEGISLATIVE_OFFICE", "LEISURE_TRAVEL_TOURISM", "LIBRARIES",
    "LOGISTICS_AND_SUPPLY_CHAIN", "LUXURY_GOODS_JEWELRY", "MACHINERY", "MANAGEMENT_CONSULTING", "MARITIME",
    "MARKET_RESEARCH", "MARKETING_AND_ADVERTISING", "MECHANICAL_OR_INDUSTRIAL_ENGINEERING", "MEDIA_PRODUCTION",
    "MEDICAL_DEVICES", "MEDICAL_PRACTICE", "MENTAL_HEALTH_CARE", "MILITARY", "MINING_METALS",
    "MOTION_PICTURES_AND_FILM", "MUSEUMS_AND_INSTITUTIONS", "MUSIC", "NANOTECHNOLOGY", "NEWSPAPERS",
    "NON_PROFIT_ORGANIZATION_MANAGEMENT", "OIL_ENERGY", "ONLINE_MEDIA", "OUTSOURCING_OFFSHORING",
    "PACKAGE_FREIGHT_DELIVERY", "PACKAGING_AND_CONTAINERS", "PAPER_FOREST_PRODUCTS", "PERFORMING_ARTS",
    "PHARMACEUTICALS", "PHILANTHROPY", "PHOTOGRAPHY", "PLASTICS", "POLITICAL_ORGANIZATION",
    "PRIMARY_SECONDARY_EDUCATION", "PRINTING", "PROFESSIONAL_TRAINING_COACHING", "PROGRAM_DEVELOPMENT",
    "PUBLIC_POLICY", "PUBLIC_RELATIONS_AND_COMMUNICATIONS", "PUBLIC_SAFETY", "PUBLISHING", "RAILROAD_MANUFACTURE",
    "RANCHING", "REAL_ESTATE", "RECREATIONAL_FACILITIES_AND_SERVICES", "RELIGIOUS_INSTITUTIONS",
    "RENEWABLES_ENVIRONMENT", "RESEARCH", "RESTAURANTS", "RETAIL", "SECURITY_AND_INVESTIGATIONS", "SEMICONDUCTORS",
    "SHIPBUILDING", "SPORTING_GOODS", "SPORTS", "STAFFING_AND_RECRUITING", "SUPERMARKETS", "TELECOMMUNICATIONS",
    "TEXTILES", "THINK_TANKS", "TOBACCO", "TRANSLATION_AND_LOCALIZATION", "TRANSPORTATION_TRUCKING_RAILROAD",
    "UTILITIES", "VENTURE_CAPITAL_PRIVATE_EQUITY", "VETERINARY", "WAREHOUSING", "WHOLESALE", "WINE_AND_SPIRITS",
    "WIRELESS", "WRITING_AND_EDITING",
)
CALL_STATUSES = ("COMPLETED", "BUSY", "NO_ANSWER", "FAILED", "CANCELED", "IN_PROGRESS", "QUEUED", "RINGING",
                 "CONNECTING", "CALLING_CRM_USER", "MISSED")
CALL_DIRECTIONS = ("INBOUND", "OUTBOUND")
ADDRESS = ("address", "city", "state", "zip", "country")


def _standard(object_type: ObjectType) -> list[PropertyDef]:
    group = f"{object_type.singular}information"
    stamps = [PropertyDef(object_type.created_property, "datetime", read_only=True),
              PropertyDef(object_type.modified_property, "datetime", read_only=True),
              PropertyDef("hs_object_id", "number", read_only=True),
              PropertyDef("hs_merged_object_ids", "enumeration", field_type="checkbox", read_only=True),
              PropertyDef("hubspot_owner_id", "enumeration", field_type="select")]
    if object_type.name == "contacts":
        props = [PropertyDef("email", unique=True), *map(PropertyDef, ("firstname", "lastname", "phone",
                 "mobilephone", "jobtitle", "company", "website", *ADDRESS)),
                 PropertyDef("lifecyclestage", "enumeration", options=_options(*LIFECYCLE_STAGES)),
                 PropertyDef("hs_lead_status", "enumeration", options=_options(*LEAD_STATUSES))]
    elif object_type.name == "companies":
        props = [*map(PropertyDef, ("name", "domain", "phone", "website", *ADDRESS)),
                 PropertyDef("industry", "enumeration", options=_options(*INDUSTRIES)),
                 PropertyDef("numberofemployees", "number"), PropertyDef("annualrevenue", "number")]
    elif object_type.name == "deals":
        props = [PropertyDef("dealname"), PropertyDef("amount", "number"), PropertyDef("deal_currency_code"),
                 PropertyDef("pipeline", "enumeration", options=_options("default")),
                 PropertyDef("dealstage", "enumeration", options=_options(*DEAL_STAGES)),
                 PropertyDef("closedate", "datetime")]
    else:
        props = [PropertyDef("hs_timestamp", "datetime"),
                 *map(PropertyDef, ("hs_call_title", "hs_call_body", "hs_call_from_number", "hs_call_to_number",
                                    "hs_call_disposition", "hs_call_recording_url")),
                 PropertyDef("hs_call_duration", "number"),
                 PropertyDef("hs_call_direction", "enumeration", options=_options(*CALL_DIRECTIONS)),
                 PropertyDef("hs_call_status", "enumeration", options=_options(*CALL_STATUSES))]
    for prop in props + stamps:
        prop.group_name = group
    return props + stamps


def build_properties() -> dict[str, dict[str, PropertyDef]]:
    """Fresh standard property definitions per object type (custom ones are added later)."""
    return {name: {prop.name: prop for prop in _standard(spec)} for name, spec in OBJECT_TYPES.items()}


# HubSpot-defined default (unlabeled) association types, both directions.
DEFAULT_ASSOCIATIONS: dict[tuple[str, str], int] = {
    ("contacts", "companies"): 279, ("companies", "contacts"): 280,
    ("deals", "contacts"): 3, ("contacts", "deals"): 4,
    ("deals", "companies"): 341, ("companies", "deals"): 342,
    ("calls", "contacts"): 194, ("contacts", "calls"): 193,
    ("calls", "companies"): 182, ("companies", "calls"): 181,
    ("calls", "deals"): 206, ("deals", "calls"): 205,
}
# Primary associations (a contact's or deal's main company).
PRIMARY_ASSOCIATIONS: dict[tuple[str, str], int] = {("contacts", "companies"): 1, ("companies", "contacts"): 2,
                                                    ("deals", "companies"): 5, ("companies", "deals"): 6}


def object_type_name(raw: str) -> str | None:
    """`contacts`, `contact` or `0-1` → `contacts`; None for a type the portal does not have."""
    lowered = raw.lower()
    return lowered if lowered in OBJECT_TYPES else TYPE_ID_ALIASES.get(lowered)
