"""The emulated Zoho data centres and how their hosts map onto the one emulator port.

Zoho runs one accounts server and one API host per data centre (`accounts.zoho.eu`, `www.zohoapis.eu` ...).
The sandbox serves every data centre from one loopback port (its TLS certificate names only loopback), so a
host becomes a path prefix:

    accounts.zoho.<dc>     ->  {base}/accounts/<dc>      (token endpoint {base}/accounts/<dc>/oauth/v2/token)
    www.zohoapis.<dc>      ->  {base}/api/<dc>           (records at {base}/api/<dc>/crm/v8/Leads)

A token is valid only on the `api_domain` its accounts server returned, as in Zoho.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta, timezone


@dataclass(frozen=True)
class DataCentre:
    """One data centre: its short code, the org's time zone there, and the number its record ids start with."""

    code: str
    utc_offset_minutes: int
    id_prefix: int

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(minutes=self.utc_offset_minutes))

    def accounts_url(self, base_url: str) -> str:
        return f"{base_url}/accounts/{self.code}"

    def api_domain(self, base_url: str) -> str:
        return f"{base_url}/api/{self.code}"


# Each DC's org answers in its own time zone, so clients must honour the offset Zoho puts on datetimes.
DATA_CENTRES: dict[str, DataCentre] = {
    "com": DataCentre("com", -5 * 60, 5725767),
    "eu": DataCentre("eu", 60, 2000000),
    "in": DataCentre("in", 5 * 60 + 30, 6000000),
}
DEFAULT_DC = "com"
