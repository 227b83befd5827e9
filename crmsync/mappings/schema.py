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
    """

    model_config = ConfigDict(extra="forbid")
    source: str | list[str] | None = None
    target: str | list[str]
    direction: Direction = "both"
    transforms: list[str | dict[str, Any]] = Field(default_factory=list)
    default: Any = None
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
    model_config = ConfigDict(extra="forbid")
    entity: EntityName
    id_field: str = "id"
    modified_field: str | None = None
    fields: list[FieldRule]
    custom_fields: CustomFieldsRule | None = None


class MappingFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str
    default_region: str | None = None
    objects: dict[str, ObjectMapping]
