"""A compiled object mapping: source record -> canonical patch, and canonical values -> vendor payload."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crmsync.errors import RecordMappingError
from crmsync.mappings.core import OMIT, Transform, TransformFn
from crmsync.mappings.paths import getter as _getter
from crmsync.mappings.paths import is_empty, set_path
from crmsync.mappings.required import Requirements
from crmsync.mappings.schema import CustomFieldsRule
from crmsync.sync_engine.records import CanonicalPatch, RefValue, SourceRecord

CUSTOM_PREFIX = "custom."
CUSTOM_NAMES_KEPT = 10_000  # bound on the per-mapper memo of which source field names are custom fields
NOTHING_CLEARED: frozenset[str] = frozenset()  # one shared object: `frozenset()` allocates a new one each call
RefResolver = Callable[[str, str], str | None]  # (object, canonical id) -> external id in the target system


@dataclass(frozen=True, slots=True)
class CompiledRule:
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    chain: tuple[Transform, ...]
    default: Any = None
    constant: Any = None
    ref: str | None = None
    coercers: tuple[TransformFn | None, ...] = ()
    target_type: type | None = None  # a value already of this type skips coercion
    when: tuple[tuple[str, Any], ...] = ()  # (path, value): read only from records holding them, written with it
    per_system: bool = False  # the value is kept as {connection: value} (see FieldRule)
    write_default: Any = None  # written when the canonical value is empty; read back, it is empty again

    def read(self, payload: Mapping[str, Any], getters: tuple[Callable[[Mapping[str, Any]], Any], ...]) -> Any:
        """The source value, for rules off the simple path: constants, several sources, defaults."""
        if self.constant is not None:
            return self.constant
        if len(getters) == 1:
            value = getters[0](payload)
        else:
            value = [get(payload) for get in getters]
            if all(is_empty(part) for part in value):
                value = None
        if is_empty(value) and self.default is not None:
            value = self.default
        return value

    @property
    def writes_constant(self) -> bool:
        """An `out` constant: written to its source path on every full payload, no canonical field behind it."""
        return self.constant is not None and not self.targets


def _coerce(coercers: tuple[TransformFn | None, ...], value: Any, payload: Mapping[str, Any]) -> Any:
    if len(coercers) == 1:
        return value if coercers[0] is None or is_empty(value) else coercers[0](value, payload)
    return tuple(part if fn is None or is_empty(part) else fn(part, payload)
                 for fn, part in zip(coercers, value, strict=True))


def _forwards(rule: CompiledRule) -> tuple[TransformFn, ...]:
    forwards = tuple(t.forward for t in rule.chain)
    if rule.write_default is None:
        return forwards
    return (_placeholder_empty(rule.write_default, forwards, len(rule.targets)),)


def _placeholder_empty(placeholder: Any, forwards: tuple[TransformFn, ...], targets: int) -> TransformFn:
    """The rule's forward chain, except that its own write default read back is empty: our placeholder
    (Lead.Company "[not provided]"), not the source's data to copy to other systems."""
    empty = None if targets == 1 else (None,) * targets

    def forward(value: Any, ctx: Mapping[str, Any]) -> Any:
        if value == placeholder:
            return empty
        for step in forwards:
            value = step(value, ctx)
        return value

    return forward


class ObjectMapper:
    """Maps one vendor object to one canonical entity, in both directions, with rules compiled once."""

    def __init__(
        self,
        system: str,
        object_name: str,
        entity: str,
        in_rules: list[CompiledRule],
        out_rules: list[CompiledRule],
        custom: CustomFieldsRule | None = None,
        id_field: str = "id",
        modified_field: str | None = None,
        required: Sequence[str | Sequence[str]] = (),
        creates: bool = True,
    ) -> None:
        self.system = system
        self.object = object_name
        self.entity = entity
        self.id_field = id_field
        self.modified_field = modified_field
        # `creates: false`: its patches may link to a record identity finds, never create one (CanonicalPatch).
        self.link_only = not creates
        self.required = Requirements(system, object_name, entity, required, out_rules)
        # Per rule, what the per-record loop needs, looked up once: getters, whether it is the simple one-source
        # one-target shape, the transforms' forward functions, the coercion and the target. A rule with a write
        # default reads it through one composed forward (`_placeholder_empty`), so other rules pay nothing for it.
        self._in = [
            (rule, tuple(_getter(s) for s in rule.sources),
             rule.constant is None and len(rule.sources) == 1 and len(rule.targets) == 1,
             _forwards(rule),
             rule.coercers[0] if rule.ref is None and len(rule.coercers) == 1 else None,
             rule.targets[0],
             tuple((_getter(path), value) for path, value in rule.when))
            for rule in in_rules
        ]
        self._out = out_rules
        self._custom = custom
        prefix = f"{custom.under}." if custom and custom.under else ""
        self._custom_in = custom is not None and custom.direction != "out"
        self._custom_out = custom is not None and custom.direction != "in"
        self._custom_get = _getter(custom.under) if custom and custom.under else None
        # Source fields that explicit rules already map are never copied again as custom fields.
        paths = [path for rule in in_rules + out_rules for path in (*rule.sources, *(p for p, _ in rule.when))]
        mapped = {path[len(prefix):] if path.startswith(prefix) else path for path in paths}
        mapped |= {id_field} | ({modified_field} if modified_field else set()) | set(custom.exclude if custom else ())
        self._not_custom = frozenset(mapped)
        self._cleared_targets = {s: rule.targets for rule in in_rules for s in rule.sources}
        self._custom_names: dict[str, bool] = {}  # source field name -> is it a custom field (a payload repeats them)
        # A constant read in (`kind: call`) is written back too, by construction: every record crmsync creates in
        # an object it writes holds it, so reading one back is our own echo of it.
        constants = [t for rule in in_rules if rule.constant is not None for t in rule.targets]
        written = [t for rule in out_rules for t in rule.targets]
        self._out_targets = frozenset(written + (constants if out_rules else []))

    def write_back_predicate(self) -> Callable[[str], bool] | None:
        """What a patch from this mapping carries as `written_back` (None: nothing is ever written back)."""
        return self.writes_back if self._out or self._custom_out else None

    def writes_back(self, target: str) -> bool:
        """True when a write-back to this object carries canonical field `target`."""
        if target in self._out_targets:
            return True
        return (self._custom_out and target.startswith(CUSTOM_PREFIX)
                and self._is_custom(target[len(CUSTOM_PREFIX):]))

    def _is_custom(self, name: str) -> bool:
        known = self._custom_names.get(name)
        if known is None:
            assert self._custom is not None
            known = name not in self._not_custom and fnmatch.fnmatchcase(name, self._custom.match)
            if len(self._custom_names) < CUSTOM_NAMES_KEPT:
                self._custom_names[name] = known
        return known

    def to_patch(self, record: SourceRecord) -> CanonicalPatch:
        """Canonical fields this record asserts; RecordMappingError names the failing source field."""
        payload = record.payload
        values: dict[str, Any] = {}
        refs: dict[str, RefValue] = {}
        for rule, getters, simple, forwards, coerce, target, when in self._in:
            if when and any(get(payload) != value for get, value in when):
                continue  # a record this rule is not about (a lookup to another module, say)
            # Hot path (one source, one target): inlined reads and empties; per-record work stays lean.
            value = getters[0](payload) if simple else rule.read(payload, getters)
            if not value and (value is None or value == "" or value == []):
                if rule.default is None:
                    continue
                value = rule.default
            try:
                for forward in forwards:
                    value = forward(value, payload)
                if simple:
                    if coerce is not None and type(value) is not rule.target_type and value is not None:
                        value = coerce(value, payload)
                elif rule.ref is None and rule.coercers:
                    value = _coerce(rule.coercers, value, payload)
            except RecordMappingError as exc:
                source = "+".join(rule.sources)
                raise RecordMappingError(f"{self.object}.{source}: {exc}", field=source) from None
            if rule.ref is not None:
                refs[rule.targets[0]] = RefValue(rule.ref, str(value))
            elif rule.per_system:
                if value is not None and value != "":
                    values[target] = {record.origin: value}
            elif len(rule.targets) == 1:
                if value is not None and value != "":
                    values[target] = value
            else:
                for target, part in zip(rule.targets, value, strict=True):
                    if not is_empty(part):
                        values[target] = part
        if self._custom_in:
            holder = self._custom_get(payload) if self._custom_get else payload
            # Most payloads carry no field outside the mapped and excluded ones: one set difference says so.
            if (type(holder) is dict or isinstance(holder, Mapping)) and holder.keys() - self._not_custom:
                known = self._custom_names
                for key, value in holder.items():
                    custom = known.get(key)
                    if custom is None:
                        custom = self._is_custom(key)
                    if custom and not is_empty(value):
                        values[CUSTOM_PREFIX + key] = value
        return CanonicalPatch(
            entity=self.entity,
            system=record.origin,
            object=record.object,
            external_id=record.external_id,
            source_ts=record.modified_at,
            values=values,
            cleared=self._cleared(record, values),
            refs=refs,
            deleted=record.deleted,
            written_back=self.write_back_predicate(),
            partial=record.partial,
            link_only=self.link_only,
        )

    def _cleared(self, record: SourceRecord, values: dict[str, Any]) -> frozenset[str]:
        if not record.cleared:
            return NOTHING_CLEARED
        cleared: set[str] = set()
        for source in record.cleared:
            targets = self._cleared_targets.get(source)
            if targets is None and self._custom_in and self._is_custom(source):
                targets = (CUSTOM_PREFIX + source,)
            cleared.update(t for t in targets or () if t not in values)
        return frozenset(cleared)

    def to_payload(self, canonical: Mapping[str, Any], resolve_ref: RefResolver | None = None,
                   only: Collection[str] | None = None, *, creating: bool = False) -> dict[str, Any]:
        """The vendor payload for write-back: every `out`/`both` rule whose canonical value is set (or whose write
        default stands in for it), and on a full payload (no `only`) every `out` constant. With `only`, just the
        rules that write one of those canonical fields (a rule joining several writes all of them).

        A canonical value its value map leaves out (`out_unknown: drop`) is not sent. With `creating`, the payload
        is to create the record in the target: RecordNotWritable names the `required` fields it lacks.
        """
        if creating and only is not None:
            raise ValueError("a record is created whole: to_payload(creating=True) takes no `only`")
        payload: dict[str, Any] = {}
        for rule in self._out:
            if rule.writes_constant:
                if only is None:
                    set_path(payload, rule.sources[0], rule.constant)
                continue
            if only is not None and not any(target in only for target in rule.targets):
                continue
            value = self._written(rule, canonical, resolve_ref)
            if value is OMIT:
                continue
            if len(rule.sources) == 1:
                set_path(payload, rule.sources[0], value)
            else:
                for source, part in zip(rule.sources, value, strict=True):
                    if not is_empty(part):
                        set_path(payload, source, part)
            for path, tag in rule.when:
                set_path(payload, path, tag)
        if self._custom_out:
            assert self._custom is not None
            prefix = f"{self._custom.under}." if self._custom.under else ""
            for key, value in canonical.items():
                if only is not None and key not in only:
                    continue
                if key.startswith(CUSTOM_PREFIX) and not is_empty(value) and self._is_custom(key[len(CUSTOM_PREFIX):]):
                    set_path(payload, prefix + key[len(CUSTOM_PREFIX):], value)
        if creating and self.required:
            self.required.check(payload, canonical)
        return payload

    def _written(self, rule: CompiledRule, canonical: Mapping[str, Any], resolve_ref: RefResolver | None) -> Any:
        """What one rule writes for this record, or OMIT when it writes nothing."""
        if len(rule.targets) == 1:
            value = canonical.get(rule.targets[0])
        else:
            value = tuple(canonical.get(t) for t in rule.targets)
            if all(is_empty(part) for part in value):
                value = None
        if is_empty(value):
            return OMIT if rule.write_default is None else rule.write_default
        if rule.ref is not None:
            found = resolve_ref(rule.ref, str(value)) if resolve_ref else None
            return OMIT if found is None else found
        try:
            for transform in reversed(rule.chain):
                assert transform.reverse is not None  # the loader refuses irreversible out rules
                value = transform.reverse(value, canonical)
                if value is OMIT:  # a value the target cannot hold (a picklist without it): left out
                    return OMIT
        except RecordMappingError as exc:
            raise RecordMappingError(f"{self.object}.{rule.sources[0]}: {exc}") from None
        return value
