"""Module definitions of the emulated org: fields, data types, mandatory and unique fields, picklists.

`describe_fields` answers `GET /crm/v8/settings/fields?module=<M>` with the keys Zoho's SDK reads
(`api_name`, `data_type`, `json_type`, `lookup.module`, `pick_list_values` ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

DataType = Literal["text", "textarea", "email", "phone", "website", "picklist", "lookup", "ownerlookup", "datetime",
                   "date", "currency", "integer", "bigint", "double", "boolean"]
JSON_TYPES: dict[str, str] = {"lookup": "jsonobject", "ownerlookup": "jsonobject", "integer": "integer",
                              "bigint": "string", "double": "double", "currency": "double", "boolean": "boolean"}
SYSTEM_FIELDS = ("id", "Owner", "Created_Time", "Modified_Time", "Created_By", "Modified_By")
# The custom field crmsync writes its canonical id into ("do not allow duplicate values" set).
EXTERNAL_ID_FIELD = "crmsync_id"
# Names the module a multi-module lookup (a Call's What_Id) points into; sent and returned next to it.
SE_MODULE = "$se_module"

LEAD_STATUSES = ("Not Contacted", "Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead",
                 "Lost Lead", "Not Qualified", "Pre-Qualified")
LEAD_SOURCES = ("Advertisement", "Cold Call", "Employee Referral", "External Referral", "Online Store", "Partner",
                "Public Relations", "Sales Email Alias", "Seminar Partner", "Web Download", "Web Research", "Chat")
INDUSTRIES = ("ASP (Application Service Provider)", "Data/Telecom OEM", "ERP (Enterprise Resource Planning)",
              "Government/Military", "Large Enterprise", "ManagementISV", "MSP (Management Service Provider)",
              "Network Equipment Enterprise", "Non-management ISV", "Optical Networking", "Service Provider",
              "Small/Medium Enterprise", "Storage Equipment", "Storage Service Provider", "Systems Integrator",
              "Wireless Industry")
DEAL_STAGES = ("Qualification", "Needs Analysis", "Value Proposition", "Identify Decision Makers",
               "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost", "Closed Lost to Competition")
CALL_TYPES = ("Inbound", "Outbound", "Missed")
CURRENCIES = ("USD", "EUR", "INR", "GBP")


@dataclass(frozen=True)
class FieldDef:
    api_name: str
    data_type: DataType
    label: str
    length: int = 255
    mandatory: bool = False
    unique: bool = False  # "do not allow duplicate values": inserts clash with DUPLICATE_DATA
    read_only: bool = False
    custom: bool = False
    picklist: tuple[str, ...] = ()
    lookup_module: str | None = None
    # A multi-module lookup ("Related To"): the record's `$se_module` names which of these modules it points into.
    lookup_modules: tuple[str, ...] = ()

    @property
    def json_type(self) -> str:
        return JSON_TYPES.get(self.data_type, "string")


@dataclass
class ModuleDef:
    api_name: str
    singular: str
    module_id: str
    display_field: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    # Fields an upsert checks when the request names none (Zoho's "system-defined duplicate check fields").
    default_duplicate_check: tuple[str, ...] = ()

    def field(self, api_name: str) -> FieldDef | None:
        return self.fields.get(api_name)


def _text(name: str, label: str | None = None, **extra: Any) -> FieldDef:
    return FieldDef(name, extra.pop("data_type", "text"), label or name.replace("_", " "), **extra)


def _pick(name: str, values: tuple[str, ...], **extra: Any) -> FieldDef:
    return FieldDef(name, "picklist", name.replace("_", " "), picklist=values, **extra)


def _system_fields() -> list[FieldDef]:
    return [
        FieldDef("id", "bigint", "Record Id", read_only=True),
        FieldDef("Owner", "ownerlookup", "Owner", lookup_module="users"),
        FieldDef("Created_Time", "datetime", "Created Time", read_only=True),
        FieldDef("Modified_Time", "datetime", "Modified Time", read_only=True),
        FieldDef("Created_By", "ownerlookup", "Created By", read_only=True, lookup_module="users"),
        FieldDef("Modified_By", "ownerlookup", "Modified By", read_only=True, lookup_module="users"),
        FieldDef(EXTERNAL_ID_FIELD, "text", "crmsync id", length=64, unique=True, custom=True),
    ]


def _address(prefix: str, zip_name: str) -> list[FieldDef]:
    return [_text(f"{prefix}Street"), _text(f"{prefix}City"), _text(f"{prefix}State"), _text(zip_name),
            _text(f"{prefix}Country")]


def _module(api_name: str, singular: str, module_id: int, display: str, fields: list[FieldDef],
            duplicate_check: tuple[str, ...] = ()) -> ModuleDef:
    definition = ModuleDef(api_name, singular, str(module_id), display, default_duplicate_check=duplicate_check)
    for item in [*_system_fields(), *fields]:
        definition.fields[item.api_name] = item
    return definition


def build_modules() -> dict[str, ModuleDef]:
    person = [_text("First_Name", length=40), _text("Last_Name", length=80, mandatory=True),
              _text("Email", data_type="email", length=100), _text("Phone", data_type="phone", length=30),
              _text("Mobile", data_type="phone", length=30), _pick("Lead_Source", LEAD_SOURCES),
              _text("Description", data_type="textarea", length=32000)]
    modules = [
        _module("Leads", "Lead", 1000000000001, "Last_Name", [
            *person, _text("Company", length=200), _text("Designation", "Title", length=100),
            _pick("Lead_Status", LEAD_STATUSES), _pick("Industry", INDUSTRIES), _text("Website", data_type="website"),
            *_address("", "Zip_Code"),
        ], ("Email",)),
        _module("Contacts", "Contact", 1000000000002, "Last_Name", [
            *person, _text("Title", length=100),
            FieldDef("Account_Name", "lookup", "Account Name", lookup_module="Accounts"),
            *_address("Mailing_", "Mailing_Zip"),
        ], ("Email",)),
        _module("Accounts", "Account", 1000000000003, "Account_Name", [
            _text("Account_Name", length=200, mandatory=True, unique=True), _text("Website", data_type="website"),
            _text("Phone", data_type="phone", length=30), _pick("Industry", INDUSTRIES),
            FieldDef("Employees", "integer", "Employees"), _text("Description", data_type="textarea", length=32000),
            *_address("Billing_", "Billing_Code"),
        ], ("Account_Name",)),
        _module("Deals", "Deal", 1000000000004, "Deal_Name", [
            _text("Deal_Name", length=120, mandatory=True), FieldDef("Amount", "currency", "Amount"),
            _pick("Stage", DEAL_STAGES, mandatory=True), FieldDef("Closing_Date", "date", "Closing Date"),
            _pick("Currency", CURRENCIES), FieldDef("Account_Name", "lookup", "Account Name", lookup_module="Accounts"),
            FieldDef("Contact_Name", "lookup", "Contact Name", lookup_module="Contacts"),
            _text("Description", data_type="textarea", length=32000),
        ], ("Deal_Name",)),
        _module("Calls", "Call", 1000000000005, "Subject", [
            _text("Subject", length=255, mandatory=True), _pick("Call_Type", CALL_TYPES, mandatory=True),
            FieldDef("Call_Start_Time", "datetime", "Call Start Time", mandatory=True),
            _text("Call_Duration", length=10), FieldDef("Call_Duration_in_seconds", "integer", "Call Duration (sec)"),
            _text("Call_Result", length=120), _text("Description", data_type="textarea", length=32000),
            FieldDef("Who_Id", "lookup", "Contact Name", lookup_module="Contacts"),
            FieldDef("What_Id", "lookup", "Related To", lookup_modules=("Leads", "Accounts", "Deals")),
        ]),
    ]
    return {module.api_name: module for module in modules}


def describe_fields(module: ModuleDef) -> dict[str, Any]:
    """The `settings/fields` body for one module."""
    fields = []
    for index, definition in enumerate(module.fields.values(), start=1):
        item: dict[str, Any] = {
            "id": f"{module.module_id}{index:03d}",
            "api_name": definition.api_name,
            "field_label": definition.label,
            "display_label": definition.label,
            "data_type": definition.data_type,
            "json_type": definition.json_type,
            "length": definition.length,
            "system_mandatory": definition.mandatory,
            "read_only": definition.read_only,
            "field_read_only": definition.read_only,
            "custom_field": definition.custom,
            "visible": True,
            "unique": {"casesensitive": False} if definition.unique else {},
            "pick_list_values": [{"display_value": value, "actual_value": value, "sequence_number": position}
                                 for position, value in enumerate(definition.picklist, start=1)],
        }
        if definition.lookup_module is not None:
            item["lookup"] = {"module": {"api_name": definition.lookup_module, "id": None}}
        elif definition.lookup_modules:
            item["lookup"] = {"module": None, "modules": [{"api_name": name, "id": None}
                                                          for name in definition.lookup_modules]}
        fields.append(item)
    return {"fields": fields}
