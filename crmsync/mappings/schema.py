"""The shape of a mapping file, validated by pydantic. Semantic checks live in the loader."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Direction = Literal["in", "out", "both"]
EntityName = Literal["lead", "company", "deal", "activity", "payment"]


class FieldRule(BaseModel):
    """source path(s) -> transforms -> canonical target(s); `ref` marks an id of another object here.

    `when` ({path: value}) ties the rule to sibling fields, as a polymorphic lookup is tied to the field naming
    its module (Zoho's What_Id and `$se_module`): read, the rule applies only to records holding those values
    (so several such rules may fill one target); written, it writes them along with its own value.

    `per_system` keeps the value under the connection it came from ({connection: value}) in a map field such
    as `owners`: a value that means something only in its own system (a user id) is never merged over
    another system's.

    `default` fills an empty source value on read. `write_default` is the vendor value written when the canonical
    value is empty (Salesforce's required Lead.Company: "[not provided]"); read back, that value is empty again.
    A `constant` is read into `target` (`direction: in`), or written to `source` on every full payload
    (`direction: out`, no target).
    """

    model_config = ConfigDict(extra="forbid")
    source: str | list[str] | None = None
    target: str | list[str] | None = None
    direction: Direction = "both"
    transforms: list[str | dict[str, Any]] = Field(default_factory=list)
    default: Any = None
    write_default: Any = None
    constant: Any = None
    ref: str | None = None
    when: dict[str, str | int | bool] | None = None
    per_system: bool = False


class CustomFieldsRule(BaseModel):
    """Copy every unmapped source field whose name matches `match` (a glob) into `custom.<name>`.

    `under` is the path of the object holding the fields (HubSpot keeps them in `properties`).
    """

    model_config = ConfigDict(extra="forbid")
    match: str
    under: str | None = None
    exclude: list[str] = Field(default_factory=list)
    direction: Direction = "both"


class ObjectMapping(BaseModel):
    """`required`: vendor fields (payload paths) a record must have, after write defaults and constants, to be
    created there; a nested list is "one of these". `creates: false`: a record of this object may link to a
    canonical record identity finds, never create one (a Five9 caller's phone number)."""

    model_config = ConfigDict(extra="forbid")
    entity: EntityName
    id_field: str = "id"
    modified_field: str | None = None
    fields: list[FieldRule]
    custom_fields: CustomFieldsRule | None = None
    required: list[str | list[str]] = Field(default_factory=list)
    creates: bool = True


class MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str
    default_region: str | None = None
    objects: dict[str, ObjectMapping]
