"""The merge policy as data: a strategy per entity and field, system priorities, whether clears apply."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

Strategy = Literal["latest", "priority", "first_non_empty", "manual", "union"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)


class FieldPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    strategy: Strategy = "latest"
    allow_clear: bool | None = None
    priority: list[str] | None = None  # overrides the global system priority for this field


class MergePolicy(BaseModel):
    """`system_priority` orders systems (first = most trusted) for `priority` and for ties under `latest`.

    `entities.<entity>.<field>` takes a strategy name or a FieldPolicy; unlisted fields use `default_strategy`.
    """

    model_config = ConfigDict(extra="forbid")
    system_priority: list[str] = Field(
        default_factory=lambda: ["salesforce", "hubspot", "zoho", "stripe", "razorpay", "five9"]
    )
    default_strategy: Strategy = "latest"
    allow_clear: bool = False
    entities: dict[str, dict[str, FieldPolicy]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _strategy_shorthand(cls, data: object) -> object:
        # `email: priority` is shorthand for `email: {strategy: priority}`.
        if isinstance(data, dict) and isinstance(data.get("entities"), dict):
            data = dict(data)
            data["entities"] = {
                entity: {
                    name: {"strategy": spec} if isinstance(spec, str) else spec
                    for name, spec in (fields or {}).items()
                }
                for entity, fields in data["entities"].items()
            }
        return data

    def for_field(self, entity: str, field: str) -> FieldPolicy:
        policy = self.entities.get(entity, {}).get(field)
        if policy is None:
            default = "union" if field == "tags" else self.default_strategy
            return FieldPolicy(strategy=default, allow_clear=self.allow_clear)
        if policy.allow_clear is None:
            policy = policy.model_copy(update={"allow_clear": self.allow_clear})
        return policy

    def rank(self, system: str, field_priority: Sequence[str] | None = None) -> int:
        """Higher is more trusted; systems not listed rank below every listed one."""
        order = field_priority or self.system_priority
        base = system.split(":", 1)[0]
        for name in (system, base):
            if name in order:
                return len(order) - order.index(name)
        return 0
