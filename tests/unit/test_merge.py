"""The merge engine, pure: strategies, clears, and the order-independence properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crmsync.config.policy import MergePolicy
from crmsync.sync_engine.merge import CompiledPolicy, apply_outcome, merge_patch
from crmsync.sync_engine.records import CanonicalPatch

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SYSTEMS = ["salesforce", "hubspot", "zoho"]


def patch(system: str, minutes: int, cleared: frozenset[str] = frozenset(), **values: Any) -> CanonicalPatch:
    return CanonicalPatch("lead", system, "obj", f"{system}-1", T0 + timedelta(minutes=minutes), values, cleared)


def apply_all(patches, policy: MergePolicy, run_ids=None):
    compiled = CompiledPolicy(policy)
    values: dict[str, Any] = {}
    provenance: dict[str, list[Any]] = {}
    conflicts = []
    for index, p in enumerate(patches):
        run = run_ids[index] if run_ids else "run"
        outcome = merge_patch("lead", values, provenance, p, compiled, run)
        apply_outcome(values, provenance, outcome)
        conflicts += outcome.conflicts
    return values, provenance, conflicts


def policy(**fields: str) -> MergePolicy:
    return MergePolicy.model_validate({"system_priority": SYSTEMS, "entities": {"lead": fields}})


def test_latest_wins_by_source_time_not_arrival():
    values, prov, _ = apply_all([patch("hubspot", 10, title="CEO"), patch("salesforce", 5, title="CTO")], policy())
    assert values["title"] == "CEO" and prov["title"][0] == "hubspot"


def test_latest_tie_is_broken_by_system_priority():
    for order in ([0, 1], [1, 0]):
        ps = [patch("zoho", 5, title="A"), patch("salesforce", 5, title="B")]
        values, _, _ = apply_all([ps[i] for i in order], policy())
        assert values["title"] == "B"


def test_priority_keeps_the_trusted_system_even_when_older():
    values, _, _ = apply_all([patch("salesforce", 1, email="a@x.io"), patch("hubspot", 9, email="b@x.io")],
                             policy(email="priority"))
    assert values["email"] == "a@x.io"


def test_a_field_can_order_systems_its_own_way():
    pol = MergePolicy.model_validate({"system_priority": SYSTEMS, "entities": {"lead": {
        "email": {"strategy": "priority", "priority": ["hubspot", "salesforce"]}}}})
    values, _, _ = apply_all([patch("salesforce", 9, email="a@x.io"), patch("hubspot", 1, email="b@x.io")], pol)
    assert values["email"] == "b@x.io"


def test_first_non_empty_keeps_the_earliest_value():
    values, _, _ = apply_all([patch("hubspot", 9, source="ads"), patch("zoho", 1, source="web")],
                             policy(source="first_non_empty"))
    assert values["source"] == "web"


def test_manual_opens_a_conflict_and_keeps_the_value():
    values, _, conflicts = apply_all(
        [patch("salesforce", 1, lead_status="working"), patch("hubspot", 9, lead_status="qualified")],
        policy(lead_status="manual"))
    assert values["lead_status"] == "working"
    assert [(name, {c["system"] for c in cands}) for name, cands in conflicts] == [
        ("lead_status", {"salesforce", "hubspot"})]


def test_manual_lets_a_system_update_its_own_value_and_agreement_is_no_conflict():
    values, _, conflicts = apply_all(
        [patch("salesforce", 1, lead_status="new"), patch("salesforce", 2, lead_status="working"),
         patch("hubspot", 3, lead_status="working")], policy(lead_status="manual"))
    assert values["lead_status"] == "working" and conflicts == []


def test_union_accumulates():
    values, _, _ = apply_all([patch("salesforce", 1, tags=["a", "b"]), patch("hubspot", 2, tags=["c", "a"])], policy())
    assert values["tags"] == ["a", "b", "c"]


def test_empty_never_overwrites_unless_cleared_and_allowed():
    set_then_clear = [patch("salesforce", 1, title="CTO"), patch("salesforce", 2, frozenset({"title"}))]
    values, _, _ = apply_all(set_then_clear, policy())
    assert values["title"] == "CTO"  # clears not allowed by default
    allowed = MergePolicy.model_validate({"allow_clear": True})
    values, prov, _ = apply_all(set_then_clear, allowed)
    assert "title" not in values and prov["title"][0] == "salesforce"
    # An older clear loses to a newer value, in either order.
    values, _, _ = apply_all(list(reversed(set_then_clear)), allowed)
    assert "title" not in values


# --- properties -------------------------------------------------------------------------------------------

FIELDS = ["title", "email", "source", "tags", "city"]
ORDER_FREE = ["latest", "priority", "first_non_empty", "union"]

values_for = {
    "title": st.sampled_from(["CEO", "CTO", "VP"]),
    "email": st.sampled_from(["a@x.io", "b@x.io"]),
    "source": st.sampled_from(["web", "ads"]),
    "tags": st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=2),
    "city": st.sampled_from(["Paris", "Pune"]),
}


@st.composite
def patches_and_policy(draw):
    strategies = {f: draw(st.sampled_from(ORDER_FREE if f != "tags" else ["union"])) for f in FIELDS}
    allow_clear = draw(st.booleans())
    pol = MergePolicy.model_validate({"system_priority": SYSTEMS, "allow_clear": allow_clear,
                                      "entities": {"lead": strategies}})
    count = draw(st.integers(1, 7))
    items = []
    for _ in range(count):
        system = draw(st.sampled_from([*SYSTEMS, "five9"]))  # five9 is unranked: ties fall to the value
        minute = draw(st.integers(0, 3))  # few timestamps: plenty of ties
        fields = draw(st.lists(st.sampled_from(FIELDS), unique=True, max_size=4))
        vals = {f: draw(values_for[f]) for f in fields}
        cleared = frozenset(draw(st.lists(st.sampled_from([f for f in FIELDS if f not in vals]), max_size=2)))
        run = draw(st.sampled_from(["r1", "r2"]))
        items.append((patch(system, minute, cleared, **vals), run))
    return items, pol


@settings(max_examples=300, deadline=None)
@given(data=patches_and_policy(), permutation_seed=st.randoms(use_true_random=False))
def test_any_permutation_of_patches_gives_the_same_state_and_provenance(data, permutation_seed):
    items, pol = data
    shuffled = list(items)
    permutation_seed.shuffle(shuffled)
    state_a = apply_all([p for p, _ in items], pol, [r for _, r in items])[:2]
    state_b = apply_all([p for p, _ in shuffled], pol, [r for _, r in shuffled])[:2]
    assert state_a == state_b


@settings(max_examples=200, deadline=None)
@given(data=patches_and_policy())
def test_replaying_a_patch_changes_nothing(data):
    items, pol = data
    compiled = CompiledPolicy(pol)
    values: dict[str, Any] = {}
    provenance: dict[str, list[Any]] = {}
    for p, run in items:
        apply_outcome(values, provenance, merge_patch("lead", values, provenance, p, compiled, run))
        replay = merge_patch("lead", values, provenance, p, compiled, run)
        assert replay.changes == {}
        assert all(provenance.get(k) == v for k, v in replay.provenance.items())
