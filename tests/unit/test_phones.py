"""The phone shortcut must give exactly what phonenumbers' parse -> is_valid_number -> format gives."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from crmsync.errors import RecordMappingError
from crmsync.mappings import phones
from crmsync.mappings.transforms import build_transform

SHAPES = ["({a}) {e}-{l}", "({a}){e}-{l}", "{a}-{e}-{l}", "{a}.{e}.{l}", "{a} {e} {l}", "{a}{e}{l}",
          "+1 {a} {e} {l}", "+1-{a}-{e}-{l}", "+1{a}{e}{l}", "+1 ({a}) {e}-{l}", "+1.{a}.{e}.{l}",
          # near misses: general path
          "1 ({a}) {e}-{l}", "1{a}{e}{l}", "({a}) {e}-{l} x12", "({a} {e}-{l}", "{a}--{e}-{l}", "+{a}{e}{l}",
          "{a}{e}{l}0", "0{a}{e}{l}", "+1 {a} {e} {l}5"]
REGIONS = ["US", "CA", "DO", "PR", "JM", "BS", "AG", "GB", "DE", "IN", "us", None]


def reference(raw: str, region: str | None) -> str | None:
    """The transform before the shortcut: phonenumbers all the way."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def samples(count: int) -> list[str]:
    rng = random.Random(20260101)
    out = []
    for _ in range(count):
        # Every leading digit for area and exchange, so invalid area codes and exchanges (0xx, 1xx, N11, 555,
        # unassigned areas, toll-free, premium, other NANP countries) are all covered.
        area = f"{rng.randrange(100, 1000):03d}" if rng.random() < 0.3 else rng.choice(
            ["415", "212", "416", "604", "809", "787", "876", "242", "268", "800", "900", "500", "555", "911"])
        numbers = {"a": area, "e": f"{rng.randrange(0, 1000):03d}", "l": f"{rng.randrange(10000):04d}"}
        out.append(rng.choice(SHAPES).format(**numbers))
    return out


@pytest.mark.parametrize("region", REGIONS)
def test_shortcut_gives_what_phonenumbers_gives(region):
    phones.to_e164.cache_clear()
    for raw in samples(1500):
        assert phones.to_e164(raw, region) == reference(raw, region), (raw, region)


def test_shortcut_shapes_do_not_parse(monkeypatch):
    def no_parse(*_args, **_kw):
        raise AssertionError("phonenumbers.parse called for a shortcut shape")

    monkeypatch.setattr(phonenumbers, "parse", no_parse)
    phones.to_e164.cache_clear()
    assert phones.to_e164("(415) 555-0101", "US") == "+14155550101"
    assert phones.to_e164("+1 416 555 0101", "GB") == "+14165550101"
    assert phones.to_e164("(416) 155-0101", "CA") is None  # an exchange cannot start with 1
    assert phones.to_e164("(200) 555-0101", "US") is None  # no such area code
    phones.to_e164.cache_clear()


def test_only_regions_that_parse_like_the_us_take_the_national_shortcut():
    assert {"US", "CA"} <= phones._NANP_REGIONS
    assert "BS" not in phones._NANP_REGIONS  # seven-digit local numbers get 242 prepended there
    assert phones.nanp_digits("(415) 555-0101", "GB") is None
    assert phones.nanp_digits("+1 (415) 555-0101", "GB") == "4155550101"
    assert phones.nanp_digits("(415) 555-0101", "us") is None  # phonenumbers refuses a lower-case region


@pytest.mark.parametrize("raw", ["(200) 555-0101", "(415) 055-0101", "+1 999 555 0101", "415-555-01011"])
def test_invalid_numbers_in_shortcut_shapes_are_still_rejected_or_dropped(raw):
    phones.to_e164.cache_clear()
    with pytest.raises(RecordMappingError, match="not a valid phone number"):
        build_transform("phone", "US").forward(raw, {})
    assert build_transform({"phone": {"on_invalid": "drop"}}, "US").forward(raw, {}) is None


def test_compiled_us_check_is_phonenumbers_own():
    rng = random.Random(11)
    valid = 0
    for _ in range(20000):
        digits = rng.choice("23456789") + "".join(rng.choice("0123456789") for _ in range(rng.choice([9, 9, 9, 8, 10])))
        expected = phonenumbers.is_valid_number_for_region(
            phonenumbers.PhoneNumber(country_code=1, national_number=int(digits)), "US")
        assert phones.valid_for_us(digits) == expected, digits
        valid += expected
    assert valid > 2000  # both answers well represented
