"""The emulated domain's call log: calls placed through the admin API or seeded, as Five9 records them.

A call is immutable once placed except for its disposition (an agent dispositions after hanging up). Times
are UTC internally, millisecond precision; the account's time zone only matters on the wire.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.framework.emulator import SandboxAdminError

CALL_TYPES = ("Inbound", "Outbound", "Manual", "Autodial", "Preview")
DIRECTION_TO_TYPE = {"inbound": "Inbound", "outbound": "Outbound"}
DISPOSITIONS = ("Sold", "Not Interested", "Call Back", "No Answer", "Busy", "Left Voicemail", "Wrong Number")
CAMPAIGNS = ("Sales Inbound", "Renewals Outbound", "Support")
AGENTS = (("jdoe@acme.example", "Jane Doe"), ("rroe@acme.example", "Richard Roe"), ("amoe@acme.example", "Ann Moe"))
COMPANY_NUMBER = "8005550199"  # the domain's own number: DNIS of inbound calls, caller id of outbound ones
FIRST_CALL_ID = 300_000_000_000_001


@dataclass(frozen=True)
class Call:
    call_id: str
    session_id: str
    started_at: datetime  # UTC, milliseconds
    duration_s: float  # call length, ring to hang-up
    call_type: str
    ani: str
    dnis: str
    campaign: str
    agent: str  # user name
    agent_name: str
    disposition: str | None = None
    talk_time_s: float = 0.0
    hold_time_s: float = 0.0
    queue_time_s: float = 0.0
    wrapup_time_s: float = 0.0
    skill: str = ""
    customer_name: str = ""
    comments: str = ""
    recording_url: str | None = None
    variables: dict[str, str] = field(default_factory=dict)  # call-attached / customer variables by name

    @property
    def ended_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.duration_s)

    @property
    def inbound(self) -> bool:
        return self.call_type == "Inbound"

    def render(self) -> dict[str, Any]:
        values = asdict(self)
        values["started_at"] = self.started_at.isoformat(timespec="milliseconds")
        return values


def _moment(value: Any, name: str) -> datetime:
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise SandboxAdminError(f"{name} must be an ISO 8601 timestamp, got {value!r}") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _seconds(fields: Mapping[str, Any], name: str, default: float) -> float:
    value = fields.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SandboxAdminError(f"{name} must be a number of seconds, got {value!r}") from None
    if number < 0:
        raise SandboxAdminError(f"{name} must not be negative")
    return number


class CallLog:
    """Every call of the domain, by call id; thread-safe (the delivery thread reads while admins write)."""

    def __init__(self, clock: SandboxClock, base_url: str) -> None:
        self.clock, self.base_url = clock, base_url
        self.lock = threading.RLock()
        self.calls: dict[str, Call] = {}
        self._next_id = FIRST_CALL_ID

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self._next_id = FIRST_CALL_ID

    def _new_id(self) -> str:
        call_id, self._next_id = str(self._next_id), self._next_id + 1
        return call_id

    def place(self, fields: Mapping[str, Any]) -> Call:
        """A finished call from admin JSON; unknown keys are refused so typos do not pass silently."""
        known = {"call_id", "ani", "dnis", "direction", "call_type", "campaign", "agent", "agent_name", "disposition",
                 "duration", "start", "talk_time", "hold_time", "queue_time", "wrapup_time", "skill", "customer_name",
                 "comments", "recorded", "recording_url", "variables"}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise SandboxAdminError(f"unknown call field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        call_type = str(fields.get("call_type") or DIRECTION_TO_TYPE.get(str(fields.get("direction", "inbound"))) or "")
        if call_type not in CALL_TYPES:
            raise SandboxAdminError(f"call_type must be one of {', '.join(CALL_TYPES)} (or direction inbound|outbound)")
        duration = _seconds(fields, "duration", 60.0)
        start = _moment(fields["start"], "start") if fields.get("start") else _moment(
            self.clock.now() - timedelta(seconds=duration), "start")
        agent = str(fields.get("agent", AGENTS[0][0]))
        variables = fields.get("variables") or {}
        if not isinstance(variables, Mapping):
            raise SandboxAdminError("variables must be an object of variable name -> value")
        with self.lock:
            call_id = str(fields.get("call_id") or self._new_id())
            if call_id in self.calls:
                raise SandboxAdminError(f"call {call_id} exists already", 409)
            recording = fields.get("recording_url") or (
                f"{self.base_url}/recordings/{call_id}.wav" if fields.get("recorded") else None)
            call = Call(
                call_id=call_id, session_id=hashlib.blake2b(call_id.encode(), digest_size=16).hexdigest().upper(),
                started_at=start, duration_s=duration, call_type=call_type,
                ani=str(fields.get("ani", "4155550101")),
                dnis=str(fields.get("dnis", COMPANY_NUMBER if call_type == "Inbound" else "4155550101")),
                campaign=str(fields.get("campaign", CAMPAIGNS[0])), agent=agent,
                agent_name=str(fields.get("agent_name", dict(AGENTS).get(agent, agent))),
                disposition=fields.get("disposition") or None,
                talk_time_s=_seconds(fields, "talk_time", max(0.0, duration - 5)),
                hold_time_s=_seconds(fields, "hold_time", 0), queue_time_s=_seconds(fields, "queue_time", 5),
                wrapup_time_s=_seconds(fields, "wrapup_time", 10), skill=str(fields.get("skill", "")),
                customer_name=str(fields.get("customer_name", "")), comments=str(fields.get("comments", "")),
                recording_url=recording, variables={str(k): str(v) for k, v in variables.items()},
            )
            self.calls[call_id] = call
            return call

    def get(self, call_id: str) -> Call:
        with self.lock:
            call = self.calls.get(call_id)
        if call is None:
            raise SandboxAdminError(f"no call {call_id}", 404)
        return call

    def disposition(self, call_id: str, disposition: str) -> Call:
        with self.lock:
            call = replace(self.get(call_id), disposition=disposition)
            self.calls[call_id] = call
            return call

    def delete(self, call_id: str) -> None:
        with self.lock:
            if self.calls.pop(call_id, None) is None:
                raise SandboxAdminError(f"no call {call_id}", 404)

    def between(self, start: datetime, end: datetime) -> list[Call]:
        """Calls that started in [start, end), oldest first (ties by call id), as the report orders them."""
        with self.lock:
            found = [call for call in self.calls.values() if start <= call.started_at < end]
        return sorted(found, key=lambda call: (call.started_at, int(call.call_id)))

    def seed(self, count: int, faker_seed: int, days: float = 7.0) -> int:
        """`count` finished calls spread over the `days` before now; the same seed and state give the same calls."""
        with self.lock:
            rng = random.Random(f"five9:{faker_seed}:{len(self.calls)}")
            now = self.clock.now()
            for _ in range(count):
                call_type = rng.choice(CALL_TYPES)
                customer = f"{rng.choice((415, 212, 312, 617, 206))}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
                agent, agent_name = rng.choice(AGENTS)
                duration = rng.randint(20, 1200)
                start = now - timedelta(seconds=rng.uniform(duration, days * 86_400))
                self.place({
                    "call_type": call_type, "ani": customer if call_type == "Inbound" else COMPANY_NUMBER,
                    "dnis": COMPANY_NUMBER if call_type == "Inbound" else customer,
                    "campaign": rng.choice(CAMPAIGNS), "agent": agent, "agent_name": agent_name,
                    "disposition": rng.choice(DISPOSITIONS), "duration": duration, "start": start.isoformat(),
                    "recorded": rng.random() < 0.5,
                })
            return count
