"""Web Connectors: an admin-configured HTTP GET (query string) or POST (form) fired on call events.

Configured as a Five9 admin would (contract sheet §6.1): URL, method, trigger (`OnCallDisconnected`, or
`OnCallDispositioned` optionally filtered by dispositions), the call variables to send (by their lower-case
dotted names, e.g. `call.ani`; a mapping renames parameters) and constant parameters — the only place for a
shared secret, since Five9 does not sign these requests. Emulator knobs: value formats per connector,
retries with small delays on a non-2xx answer or a dropped connection, and `duplicates` extra copies of each
delivery (receivers must be idempotent).
"""

from __future__ import annotations

import queue
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, ConfigDict, Field

from crmsync.sandbox.five9.calls import Call
from crmsync.sandbox.five9.formats import DurationFormat, TimestampFormat, web_duration, web_timestamp

Trigger = Literal["OnCallDisconnected", "OnCallDispositioned"]
CALL_TYPE_IDS = {"Inbound": "1", "Outbound": "2", "Manual": "3", "Autodial": "4", "Preview": "5"}
DEFAULT_VARIABLES = (
    "call.call_id", "call.session_id", "call.ani", "call.dnis", "call.number", "call.campaign_name", "call.type",
    "call.type_name", "call.disposition_name", "call.start_timestamp", "call.end_timestamp", "call.length",
    "call.skill_name", "agent.user_name", "agent.full_name",
)


class WebConnectorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="crmsync", min_length=1)
    url: str
    method: Literal["GET", "POST"] = "POST"
    trigger: Trigger = "OnCallDispositioned"
    trigger_dispositions: list[str] = Field(default_factory=list)  # empty: every disposition
    variables: list[str] | dict[str, str] = Field(default_factory=lambda: list(DEFAULT_VARIABLES))
    constants: dict[str, str] = Field(default_factory=dict)
    timestamp_format: TimestampFormat = "text"
    duration_format: DurationFormat = "ms"
    retries: int = Field(default=2, ge=0, le=10)
    retry_delays_seconds: list[float] = Field(default_factory=lambda: [0.05, 0.2])
    duplicates: int = Field(default=0, ge=0, le=5)
    timeout_seconds: float = Field(default=5.0, gt=0)

    def fires_on(self, trigger: Trigger, call: Call) -> bool:
        if trigger != self.trigger:
            return False
        return trigger != "OnCallDispositioned" or not self.trigger_dispositions or (
            call.disposition in self.trigger_dispositions)

    def describe(self) -> dict[str, object]:
        """The configuration without constant values: they hold the shared secret."""
        return {**self.model_dump(exclude={"constants"}), "constants": sorted(self.constants)}


def call_variables(call: Call, trigger: Trigger, tz: ZoneInfo, config: WebConnectorConfig) -> dict[str, str]:
    """Every variable value Five9 could substitute for this call, by lower-case dotted name."""
    stamp = lambda moment: web_timestamp(moment, tz, config.timestamp_format)  # noqa: E731
    length = lambda seconds: web_duration(seconds, config.duration_format)  # noqa: E731
    dispositioned = trigger == "OnCallDispositioned"  # at disconnect the agent has not dispositioned yet
    first, _, last = call.customer_name.partition(" ")
    values = {
        "call.call_id": call.call_id, "call.session_id": call.session_id, "call.ani": call.ani, "call.dnis": call.dnis,
        "call.number": call.ani if call.inbound else call.dnis,
        "call.campaign_id": str(zlib.crc32(call.campaign.encode()) % 10**6),
        "call.campaign_name": call.campaign, "call.type": CALL_TYPE_IDS[call.call_type],
        "call.type_name": call.call_type, "call.skill_name": call.skill, "call.skill_id": "",
        "call.disposition_name": (call.disposition or "") if dispositioned else "", "call.disposition_id": "",
        "call.start_timestamp": stamp(call.started_at), "call.end_timestamp": stamp(call.ended_at),
        "call.length": length(call.duration_s), "call.handle_time": length(call.talk_time_s + call.wrapup_time_s),
        "call.hold_time": length(call.hold_time_s), "call.park_time": length(0), "call.queue_time": length(
            call.queue_time_s), "call.wrapup_time": length(call.wrapup_time_s if dispositioned else 0),
        "call.bill_time": length(call.duration_s), "call.mediatype": "voice", "call.comments": call.comments,
        "agent.id": str(zlib.crc32(call.agent.encode()) % 10**6), "agent.user_name": call.agent,
        "agent.full_name": call.agent_name, "agent.first_agent": call.agent, "agent.station_id": "",
        "agent.station_type": "SOFTPHONE", "customer.number1": call.ani if call.inbound else call.dnis,
        "customer.first_name": first, "customer.last_name": last,
    }
    values.update({name.lower(): value for name, value in call.variables.items()})
    return values


def request_parameters(call: Call, trigger: Trigger, tz: ZoneInfo, config: WebConnectorConfig) -> list[tuple[str, str]]:
    """The (name, value) pairs one delivery sends: the chosen variables, then the constants.

    A variable Five9 does not know is sent empty, as Five9 substitutes an unset variable."""
    values = call_variables(call, trigger, tz, config)
    names = config.variables if isinstance(config.variables, dict) else {n: n for n in config.variables}
    pairs = [(parameter, values.get(variable.lower(), "")) for parameter, variable in names.items()]
    return pairs + list(config.constants.items())


@dataclass
class Delivery:
    connector: str
    call_id: str
    trigger: Trigger
    copy: int  # 0 for the delivery, 1.. for duplicates
    attempts: int = 0
    status: int | str | None = None  # the last HTTP status, or the connection error's name

    @property
    def delivered(self) -> bool:
        return isinstance(self.status, int) and 200 <= self.status < 300


class WebConnectorHub:
    """Configured connectors, the deliveries made, and a background thread sending them."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.connectors: dict[str, WebConnectorConfig] = {}
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._client = httpx.Client()
        self._queue: queue.Queue[tuple[WebConnectorConfig, Call, Trigger] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sandbox-five9-web-connectors", daemon=True)
        self._thread.start()

    def configure(self, config: WebConnectorConfig) -> WebConnectorConfig:
        with self._lock:
            self.connectors[config.name] = config
        return config

    def clear(self) -> None:
        with self._lock:
            self.connectors.clear()
            self.deliveries.clear()

    def fire(self, trigger: Trigger, call: Call, wait: bool) -> list[Delivery]:
        """Send the call to every connector with this trigger; inline when `wait`, else in the background."""
        with self._lock:
            targets = [config for config in self.connectors.values() if config.fires_on(trigger, call)]
        if not wait:
            for config in targets:
                self._queue.put((config, call, trigger))
            return []
        return [delivery for config in targets for delivery in self._deliver(config, call, trigger)]

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            self._deliver(*item)

    def _deliver(self, config: WebConnectorConfig, call: Call, trigger: Trigger) -> list[Delivery]:
        parameters = request_parameters(call, trigger, self.tz, config)
        made = []
        for copy in range(config.duplicates + 1):
            delivery = Delivery(config.name, call.call_id, trigger, copy)
            with self._lock:
                self.deliveries.append(delivery)
            for attempt in range(config.retries + 1):
                if attempt:
                    delays = config.retry_delays_seconds or [0.0]
                    time.sleep(delays[min(attempt - 1, len(delays) - 1)])
                delivery.attempts += 1
                try:
                    if config.method == "GET":
                        response = self._client.get(config.url, params=parameters, timeout=config.timeout_seconds)
                    else:
                        response = self._client.post(config.url, data=dict(parameters),
                                                     timeout=config.timeout_seconds)
                    delivery.status = response.status_code
                except httpx.HTTPError as exc:
                    delivery.status = type(exc).__name__
                if delivery.delivered:
                    break
            made.append(delivery)
        return made

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._client.close()
