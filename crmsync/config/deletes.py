"""What a delete in a connected system does, and the rail that stops a pass deleting too much at once.

Per connection (`deletes:` on the connection, default `archive`):
- `archive`: the canonical record is archived (soft-deleted: kept with its history, hidden from matching and
  write-back); the other systems keep their copies. An edit of the person in a system that still holds them
  restores it; the system that deleted it is never written to again (no resurrection there).
- `propagate`: archived, and deleted in every other system that holds it and takes pushes of that entity.
- `ignore`: only that system's link goes; the record stays as long as another system holds it.

The rail (`deletes:` at the top level): a pass whose deletes from one connection exceed `max_count`, or reach
`min_count` and exceed `max_share` of the records that connection holds, stops before applying them and says
how to confirm (`--confirm-deletes`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DeletePolicy = Literal["archive", "propagate", "ignore"]
DEFAULT_DELETE_POLICY: DeletePolicy = "archive"


class DeleteRail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_share: float = Field(default=0.2, gt=0, le=1)  # of the records the connection holds, in one pass
    max_count: int = Field(default=1000, ge=1)  # deletes in one pass, whatever the share
    min_count: int = Field(default=20, ge=1)  # fewer deletes than this never trip the share
