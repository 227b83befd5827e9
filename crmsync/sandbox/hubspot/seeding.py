"""Deterministic fake records for seeding (same Faker seed + same portal state → same records).

Faker fills small pools once (the Salesforce emulator's pools) and a seeded `random.Random` combines them,
so 25,000 contacts take well under a second to generate.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from crmsync.sandbox.hubspot.schema import CALL_STATUSES, DEAL_STAGES, LEAD_STATUSES, LIFECYCLE_STAGES
from crmsync.sandbox.hubspot.values import iso
from crmsync.sandbox.salesforce.seeding import AREA_CODES, SeedPools

Row = tuple[dict[str, str], list[tuple[str, int]]]  # property values, (associated type, id)
# A few of the portal's industry options: seeded portals keep the values (and the random stream) they always had.
SEED_INDUSTRIES = ("COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "HOSPITAL_HEALTH_CARE", "RETAIL", "TELECOMMUNICATIONS",
                   "CONSTRUCTION", "EDUCATION_MANAGEMENT", "MARKETING_AND_ADVERTISING")


def _phone(rng: random.Random) -> str:
    exchange = rng.choice([n for n in range(201, 1000) if n % 100 != 11 and n != 555])
    return f"+1 {rng.choice(AREA_CODES)} {exchange} {rng.randint(0, 9999):04d}"


class SeedGenerator:
    def __init__(self, faker_seed: int, now: datetime) -> None:
        self.faker_seed, self.pools, self.now = faker_seed, SeedPools(faker_seed), now

    def rows(self, object_type: str, count: int, existing: int, parents: dict[str, list[int]]) -> Iterator[Row]:
        rng = random.Random(f"{self.faker_seed}:{object_type}:{existing}")
        make = getattr(self, f"_{object_type}")
        for offset in range(count):
            yield make(rng, existing + offset + 1, parents)

    @staticmethod
    def _pick(rng: random.Random, parents: dict[str, list[int]], kind: str) -> list[tuple[str, int]]:
        return [(kind, rng.choice(parents[kind]))] if parents.get(kind) else []

    def _contacts(self, rng: random.Random, index: int, parents: dict[str, list[int]]) -> Row:
        pools = self.pools
        first, last = rng.choice(pools.first_names), rng.choice(pools.last_names)
        values = {
            "firstname": first, "lastname": last, "email": f"{first}.{last}{index}@{rng.choice(pools.domains)}".lower(),
            "phone": _phone(rng), "jobtitle": rng.choice(pools.titles), "company": rng.choice(pools.companies),
            "address": rng.choice(pools.streets), "city": rng.choice(pools.cities), "state": rng.choice(pools.states),
            "zip": f"{rng.randint(1000, 99999):05d}", "country": "United States",
            "lifecyclestage": rng.choice(LIFECYCLE_STAGES), "hs_lead_status": rng.choice(LEAD_STATUSES),
        }
        return values, self._pick(rng, parents, "companies")

    def _companies(self, rng: random.Random, index: int, parents: dict[str, list[int]]) -> Row:
        pools = self.pools
        return {
            "name": rng.choice(pools.companies), "domain": f"{index}.{rng.choice(pools.domains)}",
            "phone": _phone(rng), "industry": rng.choice(SEED_INDUSTRIES), "city": rng.choice(pools.cities),
            "state": rng.choice(pools.states), "country": "United States",
            "numberofemployees": str(rng.randint(5, 50_000)),
        }, []

    def _deals(self, rng: random.Random, index: int, parents: dict[str, list[int]]) -> Row:
        close = self.now + timedelta(days=rng.randint(-90, 180))
        return {
            "dealname": f"{rng.choice(self.pools.companies)} - {rng.choice(('Renewal', 'New Business', 'Upsell'))}",
            "amount": str(rng.randint(10, 5000) * 100), "deal_currency_code": "USD", "pipeline": "default",
            "dealstage": rng.choice(DEAL_STAGES),
            "closedate": iso(int(close.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() * 1000)),
        }, self._pick(rng, parents, "companies") + self._pick(rng, parents, "contacts")

    def _calls(self, rng: random.Random, index: int, parents: dict[str, list[int]]) -> Row:
        direction = rng.choice(("INBOUND", "OUTBOUND"))
        started = self.now.astimezone(UTC) - timedelta(minutes=rng.randint(0, 60 * 24 * 30))
        return {
            "hs_timestamp": iso(int(started.timestamp() * 1000)), "hs_call_title": f"{direction.title()} call",
            "hs_call_body": rng.choice(self.pools.sentences), "hs_call_direction": direction,
            "hs_call_status": rng.choice(CALL_STATUSES[:4]), "hs_call_duration": str(rng.randint(10, 1800) * 1000),
            "hs_call_from_number": _phone(rng), "hs_call_to_number": _phone(rng),
        }, self._pick(rng, parents, "contacts")
