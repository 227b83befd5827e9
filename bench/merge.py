"""Engine throughput against a plain sqlite3 insert of the same mapped rows, in one run.

N synthetic source records with 12 mapped fields go through mapping -> identity -> merge -> store on a fresh
SQLite file, a page at a time (one transaction per page, checkpoint included). About two thirds are
Salesforce leads; the other third are HubSpot contacts for people already stored (matched by e-mail), so
they merge into existing records. Then the same mapped rows are inserted with plain sqlite3 into a table
built from the canonical lead table's own DDL (same columns and indexes), committing at the same page size.
Source generation is outside both timings. The engine runs set up as a backfill is (`bulk_write_mode`: a
MappingWorker, background WAL checkpoints, a frozen older heap); `--no-worker` and `--no-bulk-mode` take parts
away. `--repeat K` runs K engine/baseline pairs in turn and reports the medians (per-pair ratios included): on a
shared machine one pair can be 15 % off either way. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from crmsync.config.policy import MergePolicy
from crmsync.mappings.loader import MappingSet, load_mappings
from crmsync.store import db
from crmsync.sync_engine.bulk_mode import bulk_write_mode
from crmsync.sync_engine.identity import new_id
from crmsync.sync_engine.ingest import CheckpointUpdate, Ingestor, PageResult
from crmsync.sync_engine.prepare import PagePreparer, page_preparer, worker_available
from crmsync.sync_engine.records import SourceRecord

FIRST = ["Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances", "John", "Radia"]
LAST = ["Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Perlman"]
AREAS = [201, 202, 212, 213, 305, 312, 415, 512, 617, 646, 702, 713, 720, 808, 917]
SF_STATUS = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted"]
HS_STATUS = ["NEW", "IN_PROGRESS", "OPEN_DEAL"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def person(i: int, rng: random.Random) -> dict[str, str]:
    exchange = rng.choice([e for e in range(201, 999) if e % 100 != 11 and e != 555])
    return {
        "email": f"person{i}@example{i % 97}.com",
        "phone": f"({rng.choice(AREAS)}) {exchange}-{rng.randrange(10000):04d}",
        "first": rng.choice(FIRST), "last": rng.choice(LAST), "title": rng.choice(["CEO", "CTO", "VP Sales"]),
        "company": f"Company {i % 5000}", "city": rng.choice(["Austin", "Boston", "Denver"]),
        "state": rng.choice(["TX", "MA", "CO"]), "country": "US", "street": f"{i} Main St",
    }


def source_pages(n: int, page_size: int, seed: int) -> Iterator[list[SourceRecord]]:
    """Salesforce leads first, then HubSpot contacts for a third of the same people, page by page."""
    rng = random.Random(seed)
    n_sf = n - n // 3
    page: list[SourceRecord] = []
    for i in range(n):
        if i < n_sf:
            p = person(i, rng)
            record = SourceRecord("salesforce", "Lead", f"00Q{i:015d}", T0 + timedelta(seconds=i), {
                "Id": f"00Q{i:015d}", "Email": p["email"], "Phone": p["phone"], "FirstName": p["first"],
                "LastName": p["last"], "Title": p["title"], "Company": p["company"],
                "Status": rng.choice(SF_STATUS), "LeadSource": "Web", "Street": p["street"], "City": p["city"],
                "State": p["state"], "Country": p["country"]})
        else:
            match = (i - n_sf) * 2 % n_sf  # each HubSpot contact is a different stored person
            p = person(match, random.Random(seed * 1_000_003 + match))
            record = SourceRecord("hubspot", "contacts", str(i), T0 + timedelta(days=1, seconds=i), {
                "id": str(i), "properties": {
                    "email": p["email"].upper(), "phone": p["phone"], "firstname": p["first"], "lastname": p["last"],
                    "jobtitle": "Head of " + p["title"], "company": p["company"],
                    "hs_lead_status": rng.choice(HS_STATUS),
                    "address": p["street"], "city": p["city"], "state": p["state"], "country": p["country"],
                    "zip": f"{rng.randrange(10000, 99999)}"}})
        page.append(record)
        if len(page) == page_size:
            yield page
            page = []
    if page:
        yield page


def run_engine(path: Path, pages: Iterator[list[SourceRecord]], mappings: MappingSet,
               worker: bool, bulk_mode: bool) -> tuple[float, dict[str, int]]:
    """Wall time of the page loop, less the time spent generating source pages (they stand in for a
    connector, and the baseline does not pay for them either)."""
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    ingestor = Ingestor(engine, mappings, MergePolicy())
    totals: dict[str, int] = {}
    generating = 0.0
    run_id = new_id()

    def timed_source() -> Iterator[list[SourceRecord]]:
        nonlocal generating
        while True:
            started = time.perf_counter()
            page = next(pages, None)
            generating += time.perf_counter() - started
            if page is None:
                return
            yield page

    def count(result: PageResult) -> None:
        for key, value in result.counts.items():
            totals[key] = totals.get(key, 0) + value

    def page_loop(preparer: PagePreparer) -> None:
        for number, (page, prepared) in enumerate(preparer.ahead(timed_source(), lambda p: p)):
            checkpoint = CheckpointUpdate("bench", "leads", {"page": number})
            count(ingestor.ingest_prepared(page, prepared, run_id, checkpoint))

    started = time.perf_counter()
    if bulk_mode:  # as a backfill runs
        with bulk_write_mode(engine, mappings, worker) as preparer:
            page_loop(preparer)
    else:
        with page_preparer(mappings, worker) as preparer:
            page_loop(preparer)
    elapsed = time.perf_counter() - started - generating
    engine.dispose()
    return elapsed, totals


COLUMNS = ["email", "phone", "first_name", "last_name", "title", "company_name", "lead_status", "source",
           "street", "city", "state", "country"]


def lead_table_ddl() -> list[str]:
    """The canonical lead table's own DDL (columns and indexes) as SQLite sees it: the equivalent table."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from crmsync.store.models import Lead

    table = Lead.__table__
    dialect = sqlite.dialect()
    return [str(CreateTable(table).compile(dialect=dialect))] + [
        str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes]


def run_raw(path: Path, pages: Iterator[list[SourceRecord]], mappings: MappingSet) -> float:
    """Plain sqlite3: the same mapped rows into the lead table's own DDL, one commit per page."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in lead_table_ddl():
        conn.execute(statement)
    columns = ["id", "custom", "created_at", "updated_at", "tags", *COLUMNS]
    insert = f"INSERT INTO lead ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    elapsed = 0.0
    for page in pages:
        rows = []
        for record in page:  # mapping is not timed here: the baseline is the insert alone
            try:
                values = mappings.get(record.system, record.object).to_patch(record).values
            except Exception:
                continue
            rows.append((new_id(), "{}", now, now, "[]", *(values.get(c) for c in COLUMNS)))
        started = time.perf_counter()
        conn.executemany(insert, rows)
        conn.commit()
        elapsed += time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="engine/baseline pairs to run; medians are reported")
    parser.add_argument("--no-worker", action="store_true", help="map in this process (no MappingWorker)")
    parser.add_argument("--no-bulk-mode", action="store_true",
                        help="without what a backfill sets up (background WAL checkpoints, a frozen older heap)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    mappings = load_mappings()
    worker = worker_available() and not args.no_worker
    bulk_mode = not args.no_bulk_mode
    engine_rates: list[float] = []
    raw_rates: list[float] = []
    for _ in range(args.repeat):  # each pair on fresh files, the baseline right after its engine run
        with tempfile.TemporaryDirectory() as tmp:
            pages = source_pages(args.n, args.page_size, args.seed)
            engine_s, counts = run_engine(Path(tmp) / "engine.db", pages, mappings, worker, bulk_mode)
            raw_s = run_raw(Path(tmp) / "raw.db", source_pages(args.n, args.page_size, args.seed), mappings)
        print(f"engine: {engine_s:.2f}s for {args.n} records {counts}; raw sqlite3: {raw_s:.2f}s", file=sys.stderr)
        engine_rates.append(args.n / engine_s)
        raw_rates.append(args.n / raw_s)
    ratios = [engine / raw for engine, raw in zip(engine_rates, raw_rates, strict=True)]
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the MappingWorker, if any
    figures: dict[str, Any] = {
        "n": args.n, "page_size": args.page_size, "records_per_s": round(statistics.median(engine_rates)),
        "raw_records_per_s": round(statistics.median(raw_rates)), "ratio": round(statistics.median(ratios), 3),
        "peak_rss_mb": round(peak_rss_mb, 1), "worker": worker, "bulk_mode": bulk_mode,
        "worker_peak_rss_mb": round(worker_rss_mb, 1)}
    if args.repeat > 1:
        figures["ratios"] = [round(r, 3) for r in ratios]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
