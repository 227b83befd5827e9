"""Deterministic fake Zoho records (same Faker seed + same org state → same records), fast enough for 100k.

The name/company/street pools are the Salesforce emulator's (Faker fills them once); a seeded
`random.Random` combines them into Zoho's field names and picklist values.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from crmsync.sandbox.salesforce.seeding import AREA_CODES, SeedPools
from crmsync.sandbox.zoho.modules import CALL_TYPES, DEAL_STAGES, INDUSTRIES, LEAD_SOURCES, LEAD_STATUSES

CALL_RESULTS = ("Interested", "Not interested", "No response", "Requested more info", "Requested call back")


def phone(rng: random.Random) -> str:
    exchange = rng.choice([n for n in range(201, 1000) if n % 100 != 11 and n != 555])
    return f"+1 {rng.choice(AREA_CODES)}-{exchange}-{rng.randint(0, 9999):04d}"


class ZohoSeedGenerator:
    """Yields stored field values for `count` new records of one module."""

    def __init__(self, faker_seed: int, today: date) -> None:
        self.faker_seed, self.today = faker_seed, today
        self.pools = SeedPools(faker_seed)

    def rows(self, module: str, count: int, existing: int, parents: dict[str, list[str]]
             ) -> Iterator[dict[str, Any]]:
        # The current row count is part of the seed, so a second seeding call adds new people.
        rng = random.Random(f"zoho:{self.faker_seed}:{module}:{existing}")
        make = getattr(self, f"_{module.lower()}")
        for offset in range(count):
            yield make(rng, existing + offset + 1, parents)

    def _person(self, rng: random.Random, index: int) -> dict[str, Any]:
        pools = self.pools
        first, last = rng.choice(pools.first_names), rng.choice(pools.last_names)
        return {"First_Name": first, "Last_Name": last,
                "Email": f"{first}.{last}{index}@{rng.choice(pools.domains)}".lower(), "Phone": phone(rng),
                "Lead_Source": rng.choice(LEAD_SOURCES)}

    def _leads(self, rng: random.Random, index: int, parents: dict[str, list[str]]) -> dict[str, Any]:
        pools = self.pools
        return {**self._person(rng, index), "Company": rng.choice(pools.companies),
                "Designation": rng.choice(pools.titles)[:100], "Lead_Status": rng.choice(LEAD_STATUSES),
                "Industry": rng.choice(INDUSTRIES), "Street": rng.choice(pools.streets),
                "City": rng.choice(pools.cities), "State": rng.choice(pools.states),
                "Zip_Code": f"{rng.randint(1000, 99999):05d}", "Country": "United States"}

    def _contacts(self, rng: random.Random, index: int, parents: dict[str, list[str]]) -> dict[str, Any]:
        pools = self.pools
        return {**self._person(rng, index), "Title": rng.choice(pools.titles)[:100],
                "Account_Name": rng.choice(parents.get("Accounts") or [None]),
                "Mailing_Street": rng.choice(pools.streets), "Mailing_City": rng.choice(pools.cities),
                "Mailing_State": rng.choice(pools.states), "Mailing_Country": "United States"}

    def _accounts(self, rng: random.Random, index: int, parents: dict[str, list[str]]) -> dict[str, Any]:
        pools = self.pools
        # Account_Name is unique in Zoho: the index keeps seeded names apart.
        return {"Account_Name": f"{rng.choice(pools.companies)} #{index}",
                "Website": f"https://www.{rng.choice(pools.domains)}", "Phone": phone(rng),
                "Industry": rng.choice(INDUSTRIES), "Employees": rng.randint(5, 50_000),
                "Billing_Street": rng.choice(pools.streets), "Billing_City": rng.choice(pools.cities),
                "Billing_State": rng.choice(pools.states), "Billing_Code": f"{rng.randint(1000, 99999):05d}",
                "Billing_Country": "United States"}

    def _deals(self, rng: random.Random, index: int, parents: dict[str, list[str]]) -> dict[str, Any]:
        return {"Deal_Name": f"{rng.choice(self.pools.companies)} - {rng.choice(('Renewal', 'New', 'Upsell'))}",
                "Account_Name": rng.choice(parents.get("Accounts") or [None]),
                "Amount": float(rng.randint(10, 5000) * 100), "Currency": "USD",
                "Stage": rng.choice(DEAL_STAGES), "Closing_Date": self.today + timedelta(days=rng.randint(-90, 180))}

    def _calls(self, rng: random.Random, index: int, parents: dict[str, list[str]]) -> dict[str, Any]:
        direction = rng.choice(CALL_TYPES)
        seconds = 0 if direction == "Missed" else rng.randint(10, 1800)
        day = self.today - timedelta(days=rng.randint(0, 30))
        start = datetime.combine(day, time(rng.randint(8, 18), rng.randint(0, 59)), UTC)
        return {"Subject": f"{direction} call", "Call_Type": direction, "Call_Start_Time": start,
                "Call_Duration": f"{seconds // 60:02d}:{seconds % 60:02d}", "Call_Duration_in_seconds": seconds,
                "Call_Result": rng.choice(CALL_RESULTS), "Description": rng.choice(self.pools.sentences),
                "Who_Id": rng.choice(parents.get("Contacts") or [None])}
