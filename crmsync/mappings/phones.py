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
# digits, every number valid for the US is one is_valid_number accepts (as the US), and checking
# the US alone costs half as much.
_US_FIRST = (COUNTRY_CODE_TO_REGION_CODE.get(1, ("",))[0] == "US"
             and phonenumbers.PhoneMetadata.metadata_for_region("US").leading_digits is None)


def nanp_digits(raw: str, region: str | None) -> str | None:
    """The ten national digits when `raw` has a shape phonenumbers would parse as +1 and those digits."""
    match = _NANP_SHAPE.fullmatch(raw)
    if match is None:
        return None
    plus, area_in_parens, area, exchange, line = match.groups()
    if plus is None and region not in _NANP_REGIONS:
        return None
    return (area_in_parens or area) + exchange + line


@lru_cache(maxsize=65536)
def to_e164(raw: str, region: str | None) -> str | None:
    """E.164 form of `raw`, or None when it is not a valid number (region used for national formats)."""
    digits = nanp_digits(raw, region)
    if digits is not None:
        number = phonenumbers.PhoneNumber(country_code=1, national_number=int(digits))
        if (_US_FIRST and phonenumbers.is_valid_number_for_region(number, "US")) or phonenumbers.is_valid_number(
                number):
            return "+1" + digits
        return None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
