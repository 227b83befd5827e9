"""Load mapping files, check them, and compile them into mappers.

The built-in files ship in this package; a user directory overrides them file by file (a user file for
system X replaces the built-in one). Checking never stops at the first problem: every problem is reported
with its file, object and field.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from crmsync.errors import MappingError
from crmsync.mappings.mapper import CUSTOM_PREFIX, CompiledRule, ObjectMapper
from crmsync.mappings.roundtrip import round_trip_problems
from crmsync.mappings.schema import FieldRule, MappingFile, ObjectMapping
from crmsync.mappings.transforms import FANS_IN, FANS_OUT, Transform, build_transform, coercer
from crmsync.store.models import field_type, mergeable_fields

BUILTIN_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class MappingProblem:
    file: str
    object: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.object:
            where += f": object {self.object}"
        if self.field:
            where += f", field {self.field}"
        return f"{where}: {self.message}"


class MappingSet:
    """Every compiled mapper, by (system, object)."""

    def __init__(self, mappers: dict[tuple[str, str], ObjectMapper], files: dict[str, Path]) -> None:
        self._mappers = mappers
        self.files = files

    def get(self, system: str, object_name: str) -> ObjectMapper:
        try:
            return self._mappers[(system, object_name)]
        except KeyError:
            where = self.files.get(system)
            hint = f"add object {object_name!r} to {where}" if where else f"add a mapping file for {system!r}"
            raise MappingError(f"no mapping for {system} object {object_name!r}: {hint}") from None

    def objects(self, system: str) -> list[str]:
        return sorted(obj for sys_name, obj in self._mappers if sys_name == system)

    def systems(self) -> list[str]:
        return sorted({sys_name for sys_name, _ in self._mappers})


def mapping_files(user_dir: Path | None = None) -> dict[str, Path]:
    """File per system stem: built-ins first, then the user's directory overriding them."""
    files = {path.stem: path for path in sorted(BUILTIN_DIR.glob("*.yaml"))}
    if user_dir is not None:
        if not user_dir.is_dir():
            raise MappingError(f"mapping directory {user_dir} does not exist")
        files.update({path.stem: path for path in sorted(user_dir.glob("*.y*ml"))})
    return files


def _rule_name(rule: dict[str, Any] | FieldRule, index: int) -> str:
    source = rule.get("source") if isinstance(rule, dict) else rule.source
    target = rule.get("target") if isinstance(rule, dict) else rule.target
    name = source if source is not None else target
    if isinstance(name, list):
        name = "+".join(map(str, name))
    return f"#{index + 1} ({name})" if name else f"#{index + 1}"


def _schema_problems(file: str, raw: Any, exc: ValidationError) -> list[MappingProblem]:
    problems = []
    for error in exc.errors():
        loc = list(error["loc"])
        obj = field = None
        if len(loc) >= 2 and loc[0] == "objects":
            obj = str(loc[1])
            if len(loc) >= 4 and loc[2] == "fields" and isinstance(loc[3], int):
                try:
                    field = _rule_name(raw["objects"][obj]["fields"][loc[3]], loc[3])
                except (KeyError, IndexError, TypeError):
                    field = f"#{loc[3] + 1}"
                loc = loc[4:]
            else:
                loc = loc[2:]
        key = ".".join(map(str, loc))
        problems.append(MappingProblem(file, obj, field, f"{key + ': ' if key else ''}{error['msg']}"))
    return problems


def _constant_errors(rule: FieldRule, sources: tuple[str, ...], targets: tuple[str, ...]) -> list[str]:
    if rule.direction == "in":
        return (["has both `source` and `constant`; keep one"] if sources else []) + (
            [] if targets else ["a constant read in needs a `target` (an `out` constant is written to its source)"])
    if rule.direction == "both":
        return ["a constant is read into `target` (`direction: in`) or written to `source` (`direction: out`, no "
                "target), not both: write it as two rules"]
    errors = [] if len(sources) == 1 and not targets else [
        "an `out` constant needs one `source` (the vendor field it is written to) and no `target`"]
    extras = [name for name, used in (("transforms", rule.transforms), ("ref", rule.ref), ("when", rule.when),
                                      ("default", rule.default is not None),
                                      ("write_default", rule.write_default is not None)) if used]
    return errors + ([f"an `out` constant is written as it is; drop {', '.join(extras)}"] if extras else [])


def _write_default_errors(rule: FieldRule, sources: tuple[str, ...]) -> list[str]:
    if rule.direction == "in":
        return ["`write_default` is written only; set `direction: both` or `out`, or use `default` for reads"]
    clashes = [name for name, used in (("ref", rule.ref), ("when", rule.when), ("per_system", rule.per_system),
                                       ("default", rule.default is not None)) if used]
    errors = [] if len(sources) == 1 else ["`write_default` needs exactly one `source` (the field it fills)"]
    return errors + ([f"`write_default` cannot be combined with {', '.join(clashes)}"] if clashes else [])


def _compile_rule(rule: FieldRule, entity: str, region: str | None) -> tuple[CompiledRule | None, list[str]]:
    errors: list[str] = []
    sources = tuple([rule.source] if isinstance(rule.source, str) else rule.source or [])
    targets = tuple([rule.target] if isinstance(rule.target, str) else rule.target or [])
    known = mergeable_fields(entity)
    for target in targets:
        if target not in known and not (target.startswith(CUSTOM_PREFIX) and len(target) > len(CUSTOM_PREFIX)):
            errors.append(f"target {target!r} is not a field of {entity} (known: {', '.join(sorted(known))}, custom.*)")
    if rule.constant is not None:
        errors += _constant_errors(rule, sources, targets)
    elif not sources:
        errors.append("needs a `source` or a `constant`")
    if not targets and rule.constant is None:
        errors.append("needs a `target` (only an `out` constant has none)")
    if rule.write_default is not None:
        errors += _write_default_errors(rule, sources)
    if rule.ref is not None and (len(targets) != 1 or not targets[0].endswith("_id")):
        errors.append("`ref` needs one target that holds a canonical id (a field ending in _id)")
    if rule.when is not None:
        if not rule.when:
            errors.append("`when` needs at least one {path: value}")
        errors += [f"`when` path {path!r} is also a source of this rule" for path in rule.when if path in sources]
    if rule.per_system and (rule.direction != "in" or len(targets) != 1 or rule.ref is not None
                            or field_type(entity, targets[0]) is not dict):
        errors.append("`per_system` needs `direction: in` and one map field as its target (e.g. owners)")
    chain: list[Transform] = []
    for spec in rule.transforms:
        try:
            chain.append(build_transform(spec, region))
        except ValueError as exc:
            errors.append(str(exc))
    names = {t.name for t in chain}
    if len(sources) > 1 and not names & FANS_IN:
        errors.append(f"{len(sources)} sources need a transform that joins them ({', '.join(sorted(FANS_IN))})")
    if len(targets) > 1 and not names & FANS_OUT:
        errors.append(f"{len(targets)} targets need a transform that splits ({', '.join(sorted(FANS_OUT))})")
    if rule.direction != "in":
        irreversible = [t for t in chain if t.reverse is None]
        for transform in irreversible:
            errors.append(
                f"transform {transform.name!r} cannot be reversed for direction {rule.direction!r} "
                "(e.g. a value map with two values mapping to one: give it a `reverse` table); "
                "or set `direction: in`"
            )
        if not irreversible and rule.ref is None:
            errors += round_trip_problems(chain)
    if errors:
        return None, errors
    types = [field_type(entity, t) for t in targets]
    coercers = tuple(coercer(t) if t is not None else None for t in types)
    when = tuple((rule.when or {}).items())
    if rule.per_system:
        coercers = (None,)  # the mapper builds the map itself
    return CompiledRule(sources, targets, tuple(chain), rule.default, rule.constant, rule.ref, coercers,
                        types[0] if types else None, when, rule.per_system, rule.write_default), []


def _required_problems(file: str, name: str, obj: ObjectMapping) -> list[MappingProblem]:
    """A required field no rule writes could never be there: the object could never be created. (Rules as written,
    compiled or not: a rule with its own problem is reported once, not again as a missing required field.)"""
    written = set()
    for rule in obj.fields:
        if rule.direction != "in":
            written.update([rule.source] if isinstance(rule.source, str) else rule.source or [])
            written.update(rule.when or {})
    custom = obj.custom_fields if obj.custom_fields and obj.custom_fields.direction != "in" else None
    prefix = f"{custom.under}." if custom and custom.under else ""
    problems = []
    for entry in obj.required:
        for path in [entry] if isinstance(entry, str) else entry:
            by_custom = custom is not None and path.startswith(prefix) and fnmatch.fnmatchcase(
                path[len(prefix):], custom.match)
            if path not in written and not by_custom:
                problems.append(MappingProblem(file, name, None, f"required: {path!r} is written by no `out`/`both` "
                                               "rule, constant or custom field of this object"))
        if not isinstance(entry, str) and not entry:
            problems.append(MappingProblem(file, name, None, "required: an empty list (one of nothing)"))
    return problems


def _compile_object(
    file: str, system: str, name: str, obj: ObjectMapping, region: str | None
) -> tuple[ObjectMapper | None, list[MappingProblem]]:
    problems: list[MappingProblem] = []
    in_rules: list[CompiledRule] = []
    out_rules: list[CompiledRule] = []
    in_targets: dict[str, str] = {}
    for index, rule in enumerate(obj.fields):
        label = _rule_name(rule, index)
        compiled, errors = _compile_rule(rule, obj.entity, region)
        problems += [MappingProblem(file, name, label, message) for message in errors]
        if compiled is None:
            continue
        if rule.direction in ("in", "both"):
            # A rule with `when` reads only the records it matches, so it may share its target with other rules.
            # (`per_system` rules are `in` only: the round-trip, write-default and required checks never see them.)
            for target in () if compiled.when else compiled.targets:
                if target in in_targets:
                    problems.append(MappingProblem(
                        file, name, label, f"target {target!r} is already filled by rule {in_targets[target]}"))
                in_targets[target] = label
            in_rules.append(compiled)
        if rule.direction in ("out", "both"):
            out_rules.append(compiled)
    problems += _required_problems(file, name, obj)
    if problems:
        return None, problems
    mapper = ObjectMapper(
        system, name, obj.entity, in_rules, out_rules,
        custom=obj.custom_fields, id_field=obj.id_field, modified_field=obj.modified_field,
        required=obj.required, creates=obj.creates,
    )
    return mapper, []


def _load_file(path: Path, region: str | None) -> tuple[list[ObjectMapper], list[MappingProblem]]:
    file = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return [], [MappingProblem(file, None, None, f"not valid YAML{where}: {getattr(exc, 'problem', exc)}")]
    except OSError as exc:
        return [], [MappingProblem(file, None, None, f"cannot read: {exc.strerror}")]
    try:
        parsed = MappingFile.model_validate(raw)
    except ValidationError as exc:
        return [], _schema_problems(file, raw, exc)
    if parsed.system != path.stem:
        message = f"system {parsed.system!r} must match the file name {path.stem!r}"
        return [], [MappingProblem(file, None, None, message)]
    mappers: list[ObjectMapper] = []
    problems: list[MappingProblem] = []
    for name, obj in parsed.objects.items():
        mapper, object_problems = _compile_object(file, parsed.system, name, obj, parsed.default_region or region)
        problems += object_problems
        if mapper is not None:
            mappers.append(mapper)
    return mappers, problems


def check_mappings(user_dir: Path | None = None, default_region: str | None = "US") -> list[MappingProblem]:
    """Every problem in the built-in and user mapping files (empty when all is well)."""
    problems: list[MappingProblem] = []
    try:
        files = mapping_files(user_dir)
    except MappingError as exc:
        return [MappingProblem(str(user_dir), None, None, str(exc))]
    for path in files.values():
        problems += _load_file(path, default_region)[1]
    return problems


def load_mappings(user_dir: Path | None = None, default_region: str | None = "US") -> MappingSet:
    """Compile every mapping; refuse to start with a MappingError listing every problem."""
    files = mapping_files(user_dir)
    mappers: dict[tuple[str, str], ObjectMapper] = {}
    problems: list[MappingProblem] = []
    for system, path in files.items():
        loaded, file_problems = _load_file(path, default_region)
        problems += file_problems
        mappers.update({(system, m.object): m for m in loaded})
    if problems:
        listing = "\n  ".join(map(str, problems))
        raise MappingError(f"{len(problems)} mapping problem(s); run `crmsync mappings check`:\n  {listing}")
    return MappingSet(mappers, files)
