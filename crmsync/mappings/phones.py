"""Phone numbers to E.164: phonenumbers decides validity for every number; a shortcut skips its parser.

Parsing is the larger part of phonenumbers' cost (about 12 of 20 µs a number). For the shapes most CRM data
has, its result is known without it: a North American number written `(415) 555-0101`, `415-555-0101`,
`415.555.0101` or `4155550101` under a default region that parses like the US, or written `+1 415 555 0101`
under any region. Both parse to country code 1 with those ten digits as the national number: the first digit
is 2-9, so there is no country code, international prefix (011) or national prefix (1) to strip. Everything
else goes through `phonenumbers.parse`. Validity always comes from phonenumbers' metadata.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

# ASCII digits only ([0-9], not \d): other scripts' digits take the general path.
_NANP_SHAPE = re.compile(
    r"(\+1[ .-]?)?(?:\(([2-9][0-9]{2})\) ?|([2-9][0-9]{2})[ .-]?)([0-9]{3})[ .-]?([0-9]{4})")


def _parses_like_us(region: str) -> bool:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    return (metadata is not None and metadata.country_code == 1 and metadata.national_prefix_for_parsing == "1"
            and metadata.national_prefix_transform_rule is None and metadata.international_prefix == "011")


# Default regions under which a national ten-digit number parses exactly like the US (checked against the
# installed metadata, so a metadata change can only narrow the shortcut).
_NANP_REGIONS = frozenset(r for r in COUNTRY_CODE_TO_REGION_CODE.get(1, ()) if _parses_like_us(r))
# is_valid_number tries the regions of country code 1 in order; when the US comes first and has no leading
# digits, every number valid for the US is one is_valid_number accepts (as the US). A number not valid for the
# US goes to is_valid_number itself (it may be Canadian, Caribbean ...).
_US_FIRST = (COUNTRY_CODE_TO_REGION_CODE.get(1, ("",))[0] == "US"
             and phonenumbers.PhoneMetadata.metadata_for_region("US").leading_digits is None)

# phonenumbers' own test for "valid for a region", from the region's metadata: the national number matches the
# general description and at least one number type's description (premium rate ... fixed line, mobile), each
# description being a set of possible lengths (empty: any) and a pattern the whole number must match. Compiled
# here once: the same patterns, one regular expression per set of lengths instead of ten function calls.
_TYPES = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
          "fixed_line", "mobile")
Check = tuple[frozenset[int], re.Pattern[str]]


def _checks(region: str) -> tuple[Check, tuple[Check, ...]] | None:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or not metadata.general_desc or not metadata.general_desc.national_number_pattern:
        return None
    general = (frozenset(metadata.general_desc.possible_length), re.compile(
        metadata.general_desc.national_number_pattern))
    by_lengths: dict[frozenset[int], list[str]] = {}
    for name in _TYPES:
        desc = getattr(metadata, name)
        if desc is not None and desc.national_number_pattern:
            by_lengths.setdefault(frozenset(desc.possible_length), []).append(desc.national_number_pattern)
    types = tuple((lengths, re.compile("|".join(f"(?:{p})" for p in patterns)))
                  for lengths, patterns in by_lengths.items())
    return general, types


def _matches(check: Check, number: str) -> bool:
    lengths, pattern = check
    return (not lengths or len(number) in lengths) and pattern.fullmatch(number) is not None


_US_CHECKS = _checks("US") if _US_FIRST else None


def valid_for_us(national_number: str) -> bool:
    """phonenumbers.is_valid_number_for_region(+1 `national_number`, "US"), without its per-call overhead."""
    assert _US_CHECKS is not None
    general, types = _US_CHECKS
    return _matches(general, national_number) and any(_matches(check, national_number) for check in types)


def nanp_digits(raw: str, region: str | None) -> str | None:
    """The ten national digits when `raw` has a shape phonenumbers would parse as +1 and those digits."""
    match = _NANP_SHAPE.fullmatch(raw)
    if match is None:
        return None
    plus, area_in_parens, area, exchange, line = match.groups()
    if plus is None and region not in _NANP_REGIONS:
        return None
    return (area_in_parens or area) + exchange + line


# Numbers repeat mostly within a few pages (a company's switchboard, a record read again), and a miss on the
# common shapes costs a few microseconds; a bigger cache is a dict every full garbage collection walks entry
# by entry (65536 entries made each one a third slower).
@lru_cache(maxsize=4096)
def to_e164(raw: str, region: str | None) -> str | None:
    """E.164 form of `raw`, or None when it is not a valid number (region used for national formats)."""
    digits = nanp_digits(raw, region)
    if digits is not None:
        if (_US_CHECKS is not None and valid_for_us(digits)) or phonenumbers.is_valid_number(
                phonenumbers.PhoneNumber(country_code=1, national_number=int(digits))):
            return "+1" + digits
        return None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
