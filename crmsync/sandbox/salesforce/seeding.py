"""Deterministic fake records for seeding (same Faker seed + same org state → same records).

Faker is slow per call, so it fills small pools once and a seeded `random.Random` combines them: 100k
leads take a second or two instead of a minute.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from faker import Faker

from crmsync.sandbox.salesforce.schema import INDUSTRIES, LEAD_SOURCES, LEAD_STATUSES, OPPORTUNITY_STAGES

POOL_SIZE = 400
DISPOSITIONS = ("Contacted", "No Answer", "Left Voicemail", "Busy", "Wrong Number", "Callback Requested")


class SeedPools:
    def __init__(self, faker_seed: int) -> None:
        fake = Faker("en_US")
        fake.seed_instance(faker_seed)
        self.first_names = [fake.first_name() for _ in range(POOL_SIZE)]
        self.last_names = [fake.last_name() for _ in range(POOL_SIZE)]
        self.companies = [fake.company() for _ in range(POOL_SIZE)]
        self.titles = [fake.job()[:128] for _ in range(POOL_SIZE // 2)]
        self.streets = [fake.street_address() for _ in range(POOL_SIZE)]
        self.cities = [fake.city() for _ in range(POOL_SIZE // 2)]
        self.states = [fake.state_abbr() for _ in range(50)]
        self.domains = [fake.domain_name() for _ in range(POOL_SIZE // 4)]
        self.sentences = [fake.sentence(nb_words=8) for _ in range(POOL_SIZE // 4)]


# Assigned US area codes: a random 3-digit code is often unassigned, and crmsync (rightly) rejects those.
AREA_CODES = (201, 202, 206, 212, 213, 305, 312, 404, 415, 503, 512, 602, 617, 646, 702, 713, 720, 808, 917, 972)


def _phone(rng: random.Random) -> str:
    exchange = rng.choice([n for n in range(201, 1000) if n % 100 != 11 and n != 555])
    return f"({rng.choice(AREA_CODES)}) {exchange}-{rng.randint(0, 9999):04d}"


class SeedGenerator:
    """Yields field dicts for `count` new records of one object."""

    def __init__(self, faker_seed: int, today: date) -> None:
        self.faker_seed = faker_seed
        self.pools = SeedPools(faker_seed)
        self.today = today

    def rows(
        self, object_name: str, count: int, existing: int, parents: dict[str, list[str]]
    ) -> Iterator[dict[str, Any]]:
        # Mix the org's current row count into the seed so a second seeding call adds new people.
        rng = random.Random(f"{self.faker_seed}:{object_name}:{existing}")
        make = getattr(self, f"_{object_name.lower()}")
        for offset in range(count):
            yield make(rng, existing + offset + 1, parents)

    def _person(self, rng: random.Random, index: int) -> dict[str, Any]:
        pools = self.pools
        first, last = rng.choice(pools.first_names), rng.choice(pools.last_names)
        return {
            "FirstName": first,
            "LastName": last,
            "Email": f"{first}.{last}{index}@{rng.choice(pools.domains)}".lower(),
            "Phone": _phone(rng),
            "Title": rng.choice(pools.titles),
            "LeadSource": rng.choice(LEAD_SOURCES),
        }

    def _lead(self, rng: random.Random, index: int, parents: dict[str, list[str]]) -> dict[str, Any]:
        pools = self.pools
        return {
            **self._person(rng, index),
            "Company": rng.choice(pools.companies),
            "Status": rng.choice(LEAD_STATUSES),
            "Industry": rng.choice(INDUSTRIES),
            "Street": rng.choice(pools.streets),
            "City": rng.choice(pools.cities),
            "State": rng.choice(pools.states),
            "PostalCode": f"{rng.randint(1000, 99999):05d}",
            "Country": "United States",
        }

    def _contact(self, rng: random.Random, index: int, parents: dict[str, list[str]]) -> dict[str, Any]:
        pools = self.pools
        accounts = parents.get("Account") or [None]
        return {
            **self._person(rng, index),
            "AccountId": rng.choice(accounts),
            "MailingStreet": rng.choice(pools.streets),
            "MailingCity": rng.choice(pools.cities),
            "MailingState": rng.choice(pools.states),
            "MailingCountry": "United States",
        }

    def _account(self, rng: random.Random, index: int, parents: dict[str, list[str]]) -> dict[str, Any]:
        pools = self.pools
        name = rng.choice(pools.companies)
        return {
            "Name": name,
            "Website": f"https://www.{rng.choice(pools.domains)}",
            "Phone": _phone(rng),
            "Industry": rng.choice(INDUSTRIES),
            "NumberOfEmployees": rng.randint(5, 50_000),
            "BillingStreet": rng.choice(pools.streets),
            "BillingCity": rng.choice(pools.cities),
            "BillingState": rng.choice(pools.states),
            "BillingPostalCode": f"{rng.randint(1000, 99999):05d}",
            "BillingCountry": "United States",
        }

    def _opportunity(self, rng: random.Random, index: int, parents: dict[str, list[str]]) -> dict[str, Any]:
        return {
            "Name": f"{rng.choice(self.pools.companies)} - {rng.choice(('Renewal', 'New Business', 'Upsell'))}",
            "AccountId": rng.choice(parents.get("Account") or [None]),
            "Amount": float(rng.randint(10, 5000) * 100),
            "CurrencyIsoCode": "USD",
            "StageName": rng.choice(OPPORTUNITY_STAGES),
            "CloseDate": self.today + timedelta(days=rng.randint(-90, 180)),
        }

    def _task(self, rng: random.Random, index: int, parents: dict[str, list[str]]) -> dict[str, Any]:
        people = (parents.get("Lead") or []) + (parents.get("Contact") or [])
        direction = rng.choice(("Inbound", "Outbound"))
        duration = rng.randint(10, 1800)
        return {
            "Subject": f"{direction} Call",
            "Status": "Completed",
            "Priority": "Normal",
            "WhoId": rng.choice(people) if people else None,
            "ActivityDate": self.today - timedelta(days=rng.randint(0, 30)),
            "Type": "Call",
            "TaskSubtype": "Call",
            "CallType": direction,
            "CallDurationInSeconds": duration,
            "CallDisposition": rng.choice(DISPOSITIONS),
            "CallObject": f"{rng.getrandbits(64):016X}",
            "Description": rng.choice(self.pools.sentences),
            "Five9__Five9SessionId__c": f"{rng.getrandbits(128):032X}",
            "Five9__Five9CallType__c": direction,
            "Five9__Five9ANI__c": _phone(rng),
            "Five9__Five9DNIS__c": _phone(rng),
            "Five9__Five9Campaign__c": rng.choice(("Inbound Sales", "Outbound Prospecting", "Support")),
            "Five9__Five9HandleTime__c": float(duration + rng.randint(0, 120)),
            "Five9__Five9TalkAndHoldTimeInSeconds__c": float(duration),
        }
