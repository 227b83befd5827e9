from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from crmsync.errors import RecordMappingError
from crmsync.mappings.transforms import build_transform, currency_exponent, parse_utc


def fwd(spec, value, ctx=None, region="US"):
    return build_transform(spec, region).forward(value, ctx or {})


def rev(spec, value, ctx=None, region="US"):
    transform = build_transform(spec, region)
    assert transform.reverse is not None
    return transform.reverse(value, ctx or {})


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-0101", "US", "+14155550101"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("98765 43210", "IN", "+919876543210"),
    ],
)
def test_phone_to_e164_with_default_region(raw, region, expected):
    assert fwd("phone", raw, region=region) == expected


def test_invalid_phone_is_a_record_error_or_dropped_when_asked():
    with pytest.raises(RecordMappingError, match="not a valid phone number"):
        fwd("phone", "call me maybe")
    assert fwd({"phone": {"on_invalid": "drop"}}, "12") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-01T12:34:56Z", datetime(2024, 1, 1, 12, 34, 56, tzinfo=UTC)),
        ("2024-01-01T12:34:56.000+0000", datetime(2024, 1, 1, 12, 34, 56, tzinfo=UTC)),
        ("2024-01-01T18:04:56+05:30", datetime(2024, 1, 1, 12, 34, 56, tzinfo=UTC)),
        (1704112496, datetime(2024, 1, 1, 12, 34, 56, tzinfo=UTC)),
        (1704112496000, datetime(2024, 1, 1, 12, 34, 56, tzinfo=UTC)),
        ("1704112496000", datetime(2024, 1, 1, 12, 34, 56, tzinfo=UTC)),
    ],
)
def test_datetimes_become_utc(raw, expected):
    assert parse_utc(raw) == expected
    assert parse_utc(raw).tzinfo is UTC


def test_datetime_reverse_formats():
    moment = datetime(2024, 1, 1, 12, 34, 56, 789000, tzinfo=UTC)
    assert rev({"datetime": {"out_format": "salesforce"}}, moment) == "2024-01-01T12:34:56.789+0000"
    assert rev({"datetime": {"out_format": "epoch_ms"}}, moment) == 1704112496789
    assert rev("datetime", moment) == "2024-01-01T12:34:56.789000Z"
    with pytest.raises(RecordMappingError):
        fwd("datetime", "next tuesday")


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [(1999, "USD", Decimal("19.99")), (1999, "JPY", Decimal("1999")), (1999, "KWD", Decimal("1.999")),
     (50000, "INR", Decimal("500.00")), (7, "CLF", Decimal("0.0007"))],
)
def test_minor_units_by_currency_exponent_both_ways(minor, currency, amount):
    spec = {"minor_units": {"currency_field": "currency"}}
    ctx = {"currency": currency.lower()}
    assert fwd(spec, minor, ctx) == amount
    assert rev(spec, amount, ctx) == minor


def test_minor_units_refuses_amounts_finer_than_the_currency():
    with pytest.raises(RecordMappingError, match="more decimals"):
        rev({"minor_units": {"currency": "JPY"}}, Decimal("10.5"))
    assert currency_exponent("usd") == 2


def test_value_map_both_ways_and_unknown_values():
    spec = {"map": {"values": {"Closed Won": "closed_won", "Prospecting": "prospecting"}}}
    assert fwd(spec, "Closed Won") == "closed_won"
    assert rev(spec, "closed_won") == "Closed Won"
    assert fwd(spec, "Brand New") == "Brand New"  # unknown: keep by default
    with pytest.raises(RecordMappingError, match="not in the value map"):
        fwd({"map": {"values": {"a": "x"}, "unknown": "error"}}, "b")


def test_non_injective_map_has_no_reverse_unless_given():
    spec = {"map": {"values": {"Qualification": "qualification", "Needs Analysis": "qualification"}}}
    assert build_transform(spec, None).reverse is None
    spec["map"]["reverse"] = {"qualification": "Qualification"}
    assert rev(spec, "qualification") == "Qualification"


def test_name_split_and_join():
    assert fwd("split_name", "Ada King Lovelace") == ("Ada King", "Lovelace")
    assert fwd("split_name", "Prince") == (None, "Prince")
    assert rev("split_name", ("Ada", "Lovelace")) == "Ada Lovelace"
    assert fwd("join_name", ["Ada", None]) == "Ada"


def test_trim_lower_domain_split_scale_date():
    assert fwd("trim", "  a ") == "a"
    assert fwd("lower", "A@B.IO") == "a@b.io"
    assert fwd("domain", "https://www.Acme.com/about") == "acme.com"
    assert fwd("domain", "ceo@acme.io") == "acme.io"
    assert fwd("split", "vip; beta;vip") == ["beta", "vip"]
    assert rev("split", ["beta", "vip"]) == "beta;vip"
    assert fwd({"scale": {"factor": "0.001"}}, 65500) == 66
    assert rev({"scale": {"factor": "0.001"}}, 66) == 66000
    assert fwd("date", "2026-11-21T00:00:00Z") == date(2026, 11, 21)


@pytest.mark.parametrize(
    ("spec", "message"),
    [("nope", "unknown transform 'nope'"), ({"phone": {"colour": "red"}}, "colour"),
     ({"a": 1, "b": 2}, "one-key mapping"), ({"map": {}}, "values")],
)
def test_bad_transform_specs_say_what_is_wrong(spec, message):
    with pytest.raises(ValueError, match=message):
        build_transform(spec, None)
