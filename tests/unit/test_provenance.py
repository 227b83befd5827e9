from hypothesis import given
from hypothesis import strategies as st

from crmsync.store.provenance import pack, unpack

entries = st.tuples(st.sampled_from(["salesforce", "hubspot"]),
                    st.sampled_from(["2026-11-01T09:00:00.000000+00:00", "2026-11-02T09:00:00.000000+00:00"]),
                    st.sampled_from([None, "run1", "run2"])).map(list)


@given(st.dictionaries(st.sampled_from(["email", "phone", "title", "custom.x", "tags"]), entries))
def test_pack_then_unpack_gives_back_every_field(provenance):
    packed = pack(provenance)
    assert unpack(packed) == provenance
    assert len(packed) == len({tuple(p) for p in provenance.values()})  # one entry per source assertion


def test_a_record_from_one_assertion_is_one_entry():
    shared = ["salesforce", "2026-11-01T09:00:00.000000+00:00", "run1"]
    assert pack(dict.fromkeys(["phone", "email"], shared)) == ((*shared, ("email", "phone")),)
    assert pack({}) == () and unpack([]) == {} and unpack(None) == {}
