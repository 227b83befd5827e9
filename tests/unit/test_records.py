"""Stored values that must not drift between versions: content hashes (compared with hashes already stored in
external_ref) and the ISO text of source times (compared as text in provenance)."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from crmsync.sync_engine.merge import iso_utc
from crmsync.sync_engine.records import CanonicalPatch, RefValue

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def reference_hash(patch: CanonicalPatch) -> str:
    # Written out longhand; see records.hash_text. The source time is part of it (a later re-assertion is news).
    items = sorted(patch.values.items())
    body = "\x1e".join(k + "\x1f" + ("s" + v if isinstance(v, str) else "r" + repr(v)) for k, v in items)
    if any(sep in k or (isinstance(v, str) and sep in v) for k, v in items for sep in "\x1e\x1f"):
        body = "repr" + repr(items)
    tail = ""
    if patch.cleared or patch.refs:
        tail = repr((sorted(patch.cleared), sorted((k, r.object, r.external_id) for k, r in patch.refs.items())))
    text = "\x1e".join(["2", body, tail, "1" if patch.deleted else "0", patch.source_ts.isoformat()])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@pytest.mark.parametrize("extra", [
    {},
    {"cleared": frozenset({"title", "city"})},
    {"refs": {"company_id": RefValue("Account", "001A")}},
    {"deleted": True},
])
def test_content_hash_is_the_stored_formula(extra):
    patch = CanonicalPatch("lead", "salesforce", "Lead", "00Q1", T0,
                           {"email": "a@x.io", "amount": Decimal("1.50"), "tags": ["b", "a"], "n": 3}, **extra)
    assert patch.content_hash() == reference_hash(patch)


@pytest.mark.parametrize("values", [
    {}, {"title": "a\x1fb"}, {"title": "a\x1eb"}, {"custom.a\x1fb": "x"}, {"a": "x\x1eb\x1fsy"},
])
def test_separators_inside_values_fall_back_to_the_unambiguous_form(values):
    patch = CanonicalPatch("lead", "salesforce", "Lead", "00Q1", T0, values)
    assert patch.content_hash() == reference_hash(patch)


def test_values_that_print_alike_hash_apart():
    def digest(values):
        return CanonicalPatch("lead", "salesforce", "Lead", "00Q1", T0, values).content_hash()

    assert len({digest({"n": "3"}), digest({"n": 3}), digest({"n": "r3"}), digest({"n": ["3"]})}) == 4
    assert digest({"a": "x\x1eb\x1fsy"}) != digest({"a": "x", "b": "y"})


def test_content_hash_of_a_known_patch_never_changes():
    patch = CanonicalPatch("lead", "salesforce", "Lead", "00Q1", T0, {"email": "a@x.io", "last_name": "A"})
    assert patch.content_hash() == "c36242b008e8a578c7af541857d2d72b"  # the stored formula (records.HASH_VERSION 2)


def test_iso_utc_is_fixed_width_utc_text():
    rng = random.Random(5)
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7))]
    for _ in range(2000):
        moment = datetime(rng.randrange(1900, 2100), rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24),
                          rng.randrange(60), rng.randrange(60), rng.choice([0, rng.randrange(1_000_000)]),
                          tzinfo=rng.choice(zones))
        assert iso_utc(moment) == moment.astimezone(UTC).isoformat(timespec="microseconds")


def test_sqlite_timestamps_are_the_text_sqlalchemy_writes():
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.types import TypeDecorator

    from crmsync.store.types import UtcDateTime

    dialect = sqlite.dialect()
    column_type = UtcDateTime().dialect_impl(dialect)  # as the engine and store/bulk.py take it
    fast = column_type.bind_processor(dialect)
    generic = TypeDecorator.bind_processor(column_type, dialect)  # SQLAlchemy's own composition
    rng = random.Random(9)
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7))]
    for _ in range(3000):
        moment = datetime(rng.randrange(2, 9998), rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24),
                          rng.randrange(60), rng.randrange(60), rng.choice([0, rng.randrange(1_000_000)]),
                          tzinfo=rng.choice(zones))
        assert fast(moment) == generic(moment)
    assert fast(None) is None
    with pytest.raises(ValueError, match="naive"):
        fast(datetime(2026, 1, 1))
