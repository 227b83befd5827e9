"""Records a target cannot hold as they stand are shown with their reasons: `crmsync status`, `outbox list
--held`; they are not dead letters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import insert

from crmsync.store import db
from crmsync.store.models import OutboxItem

REASON = "Salesforce Lead needs LastName; this lead has no last_name (a phone-only caller?)"


def test_held_items_are_shown_with_their_reason(seeded: Path, cli) -> None:
    engine = db.make_engine(yaml.safe_load(seeded.read_text())["database_url"])
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(OutboxItem), [{"target": "salesforce", "entity": "lead", "canonical_id": f"lead{i}",
                                           "status": "held", "last_error": REASON, "kind": "upsert",
                                           "attempts": 0, "next_attempt_at": now, "created_at": now,
                                           "updated_at": now} for i in range(2)])
    engine.dispose()
    status = cli("status")
    assert status.exit_code == 0, status.output
    assert f"held for salesforce: 2 x {REASON}" in " ".join(status.stdout.split())
    held = cli("outbox", "list", "--held")
    assert held.exit_code == 0 and held.stdout.count("held") >= 2
    assert "no dead" not in held.stdout and cli("outbox", "list", "--dead").stdout.count("lead0") == 0
