"""sObject definitions: fields, types, picklists and key prefixes of the emulated standard objects."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

FieldType = Literal[
    "id", "string", "textarea", "email", "phone", "url", "picklist", "combobox", "reference",
    "boolean", "datetime", "date", "double", "currency", "percent", "int",
]  # fmt: skip
TEXT_TYPES = frozenset({"id", "string", "textarea", "email", "phone", "url", "picklist", "combobox", "reference"})
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})
CUSTOM_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*__c$")
USER_PREFIX = "005"


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: FieldType
    label: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    custom: bool = False
    external_id: bool = False
    unique: bool = False
    required: bool = False  # REQUIRED_FIELD_MISSING on create when absent (and no default)
    picklist: tuple[str, ...] = ()
    default: Any = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "length": self.length,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "custom": self.custom,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.type == "id" or self.external_id,
            "defaultedOnCreate": self.default is not None or self.name in AUDIT_FIELD_NAMES,
            "calculated": not self.createable and not self.updateable and self.name not in AUDIT_FIELD_NAMES,
            "filterable": True,
            "sortable": self.type != "textarea",
            "picklistValues": [
                {"active": True, "defaultValue": value == self.default, "label": value, "validFor": None,
                 "value": value}
                for value in self.picklist
            ],
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "soapType": _SOAP_TYPES[self.type],
        }


_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "datetime": "xsd:dateTime",
    "date": "xsd:date", "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double",
    "int": "xsd:int",
} | {name: "xsd:string" for name in ("string", "textarea", "email", "phone", "url", "picklist", "combobox")}


def _text(name: str, label: str, length: int = 255, **extra: Any) -> FieldDef:
    return FieldDef(name, extra.pop("type", "string"), label, length, **extra)


def _picklist(name: str, label: str, values: tuple[str, ...], **extra: Any) -> FieldDef:
    return FieldDef(name, "picklist", label, 255, picklist=values, **extra)


def _ref(name: str, label: str, targets: tuple[str, ...], relationship: str, **extra: Any) -> FieldDef:
    return FieldDef(name, "reference", label, 18, reference_to=targets, relationship_name=relationship, **extra)


def _readonly(name: str, type_: FieldType, label: str, **extra: Any) -> FieldDef:
    return FieldDef(name, type_, label, createable=False, updateable=False, **extra)


AUDIT_FIELD_NAMES = frozenset(
    {"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"}
)


def _audit_fields() -> list[FieldDef]:
    return [
        _readonly("Id", "id", "Record ID", length=18, nillable=False),
        _readonly("IsDeleted", "boolean", "Deleted", nillable=False),
        _readonly("CreatedDate", "datetime", "Created Date", nillable=False),
        _readonly("CreatedById", "reference", "Created By ID", nillable=False, reference_to=("User",),
                  relationship_name="CreatedBy", length=18),
        _readonly("LastModifiedDate", "datetime", "Last Modified Date", nillable=False),
        _readonly("LastModifiedById", "reference", "Last Modified By ID", nillable=False,
                  reference_to=("User",), relationship_name="LastModifiedBy", length=18),
        _readonly("SystemModstamp", "datetime", "System Modstamp", nillable=False),
        _ref("OwnerId", "Owner ID", ("User",), "Owner", nillable=False),
        _text("crmsync_id__c", "crmsync ID", custom=True, external_id=True, unique=True),
    ]


LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
INDUSTRIES = ("Agriculture", "Banking", "Consulting", "Education", "Healthcare", "Manufacturing", "Retail",
              "Technology", "Telecommunications", "Other")
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted")
OPPORTUNITY_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Value Proposition",
                      "Id. Decision Makers", "Perception Analysis", "Proposal/Price Quote",
                      "Negotiation/Review", "Closed Won", "Closed Lost")
TASK_STATUSES = ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred")


def _address(prefix: str, label: str) -> list[FieldDef]:
    return [
        _text(f"{prefix}Street", f"{label} Street", type="textarea"),
        _text(f"{prefix}City", f"{label} City", 40),
        _text(f"{prefix}State", f"{label} State/Province", 80),
        _text(f"{prefix}PostalCode", f"{label} Zip/Postal Code", 20),
        _text(f"{prefix}Country", f"{label} Country", 80),
    ]


def _person_fields() -> list[FieldDef]:
    return [
        _readonly("Name", "string", "Full Name", length=121),
        _picklist("Salutation", "Salutation", ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.")),
        _text("FirstName", "First Name", 40),
        _text("LastName", "Last Name", 80, nillable=False, required=True),
        _text("Title", "Title", 128),
        _text("Email", "Email", 80, type="email"),
        _text("Phone", "Phone", 40, type="phone"),
        _text("MobilePhone", "Mobile Phone", 40, type="phone"),
        _picklist("LeadSource", "Lead Source", LEAD_SOURCES),
        _text("Description", "Description", 32000, type="textarea"),
        FieldDef("HasOptedOutOfEmail", "boolean", "Email Opt Out", nillable=False, default=False),
    ]


FIVE9_TASK_FIELDS = (
    ("Five9__Five9SessionId__c", "Five9 Session ID", "string"),
    ("Five9__Five9ANI__c", "Five9 ANI", "phone"),
    ("Five9__Five9DNIS__c", "Five9 DNIS", "phone"),
    ("Five9__Five9Campaign__c", "Five9 Campaign", "string"),
    ("Five9__Five9CallType__c", "Five9 Call Type", "string"),
    ("Five9__Five9Agent__c", "Five9 Agent", "string"),
    ("Five9__Five9AgentName__c", "Five9 Agent Name", "string"),
    ("Five9__Five9AgentExtension__c", "Five9 Agent Extension", "string"),
    ("Five9__Five9HandleTime__c", "Five9 Handle Time", "double"),
    ("Five9__Five9WrapTime__c", "Five9 Wrap Time", "double"),
    ("Five9__Five9TalkAndHoldTimeInSeconds__c", "Five9 Talk And Hold Time (s)", "double"),
    ("Five9__Five9TaskType__c", "Five9 Task Type", "string"),
)


def _standard_fields(object_name: str) -> list[FieldDef]:
    if object_name == "Lead":
        return [
            *_person_fields(),
            _text("Company", "Company", 255, nillable=False, required=True),
            _picklist("Status", "Lead Status", LEAD_STATUSES, nillable=False, default=LEAD_STATUSES[0]),
            _picklist("Industry", "Industry", INDUSTRIES),
            _picklist("Rating", "Rating", ("Hot", "Warm", "Cold")),
            _text("Website", "Website", type="url"),
            FieldDef("NumberOfEmployees", "int", "Employees"),
            FieldDef("AnnualRevenue", "currency", "Annual Revenue"),
            _readonly("IsConverted", "boolean", "Converted", nillable=False, default=False),
            *_address("", "Address"),
        ]
    if object_name == "Contact":
        return [
            *_person_fields(),
            _ref("AccountId", "Account ID", ("Account",), "Account"),
            _text("Department", "Department", 80),
            FieldDef("Birthdate", "date", "Birthdate"),
            *_address("Mailing", "Mailing"),
        ]
    if object_name == "Account":
        return [
            _text("Name", "Account Name", 255, nillable=False, required=True),
            _picklist("Type", "Account Type", ("Prospect", "Customer - Direct", "Customer - Channel", "Partner")),
            _picklist("Industry", "Industry", INDUSTRIES),
            _text("Website", "Website", type="url"),
            _text("Phone", "Account Phone", 40, type="phone"),
            FieldDef("NumberOfEmployees", "int", "Employees"),
            FieldDef("AnnualRevenue", "currency", "Annual Revenue"),
            _text("Description", "Account Description", 32000, type="textarea"),
            *_address("Billing", "Billing"),
        ]
    if object_name == "Opportunity":
        return [
            _text("Name", "Name", 120, nillable=False, required=True),
            _ref("AccountId", "Account ID", ("Account",), "Account"),
            FieldDef("Amount", "currency", "Amount"),
            _picklist("CurrencyIsoCode", "Opportunity Currency", ("USD", "EUR", "GBP", "INR"), default="USD"),
            _picklist("StageName", "Stage", OPPORTUNITY_STAGES, nillable=False, required=True),
            FieldDef("CloseDate", "date", "Close Date", nillable=False, required=True),
            FieldDef("Probability", "percent", "Probability (%)"),
            _picklist("Type", "Opportunity Type", ("New Business", "Existing Business")),
            _picklist("LeadSource", "Lead Source", LEAD_SOURCES),
            _text("Description", "Description", 32000, type="textarea"),
        ]
    if object_name == "Task":
        return [
            _text("Subject", "Subject", 255, type="combobox"),
            _picklist("Status", "Status", TASK_STATUSES, nillable=False, default="Not Started"),
            _picklist("Priority", "Priority", ("High", "Normal", "Low"), nillable=False, default="Normal"),
            _ref("WhoId", "Name ID", ("Contact", "Lead"), "Who"),
            _ref("WhatId", "Related To ID", ("Account", "Opportunity"), "What"),
            FieldDef("ActivityDate", "date", "Due Date Only"),
            _picklist("Type", "Type", ("Call", "Email", "Meeting", "Other")),
            FieldDef("TaskSubtype", "picklist", "Task Subtype", 40, updateable=False,
                     picklist=("Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"), default="Task"),
            _picklist("CallType", "Call Type", ("Internal", "Inbound", "Outbound")),
            FieldDef("CallDurationInSeconds", "int", "Call Duration"),
            _text("CallDisposition", "Call Result", 255),
            _text("CallObject", "Call Object Identifier", 255),
            _text("Description", "Comments", 32000, type="textarea"),
            *(FieldDef(name, type_, label, 255 if type_ != "double" else 0, custom=True)  # type: ignore[arg-type]
              for name, label, type_ in FIVE9_TASK_FIELDS),
        ]
    raise KeyError(object_name)


@dataclass
class SObjectDef:
    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    _lower: dict[str, str] = field(default_factory=dict)

    def add(self, definition: FieldDef) -> None:
        self.fields[definition.name] = definition
        self._lower[definition.name.lower()] = definition.name

    def field(self, name: str) -> FieldDef | None:
        """Case-insensitive field lookup, as SOQL and the REST API do."""
        canonical = self._lower.get(name.lower())
        return None if canonical is None else self.fields[canonical]

    def relationship(self, name: str) -> FieldDef | None:
        lowered = name.lower()
        return next(
            (f for f in self.fields.values() if f.relationship_name and f.relationship_name.lower() == lowered),
            None,
        )


OBJECT_LABELS = {
    "Lead": ("Lead", "Leads", "00Q"),
    "Contact": ("Contact", "Contacts", "003"),
    "Account": ("Account", "Accounts", "001"),
    "Opportunity": ("Opportunity", "Opportunities", "006"),
    "Task": ("Task", "Tasks", "00T"),
}


def build_schema() -> dict[str, SObjectDef]:
    """A fresh schema; admin-defined custom fields are added to it per emulator instance."""
    schema: dict[str, SObjectDef] = {}
    for name, (label, plural, prefix) in OBJECT_LABELS.items():
        definition = SObjectDef(name, label, plural, prefix)
        for field_def in [*_audit_fields(), *_standard_fields(name)]:
            definition.add(field_def)
        schema[name] = definition
    return schema
