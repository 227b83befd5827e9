"""`crmsync sandbox up`: run vendor emulators on loopback until Ctrl-C."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crmsync.sandbox.framework.emulator import SandboxAdminError, SandboxEndpoint, available_vendors
from crmsync.sandbox.framework.runner import SandboxRunner

SEEDED_OBJECTS = {
    "salesforce": ("Account", "Lead", "Contact"),
    "hubspot": ("companies", "contacts", "deals"),
    "zoho": ("Accounts", "Contacts", "Leads", "Deals", "Calls"),
    "stripe": ("customers", "payment_intents"),
    "razorpay": ("customers", "payments"),
    "five9": ("calls",),
}

sandbox_app = typer.Typer(help="Local emulators of the vendor APIs crmsync talks to, for offline development.")


@sandbox_app.callback()
def sandbox() -> None:
    """Local emulators of vendor APIs (Salesforce, ...), served over HTTPS on loopback."""


def _print_table(console: Console, endpoints: list[SandboxEndpoint]) -> None:
    table = Table(title="crmsync sandbox", show_lines=True)
    for column in ("vendor", "base URL", "credentials", "CA bundle"):
        table.add_column(column, overflow="fold")
    for endpoint in endpoints:
        credentials = "\n".join(f"{key}={value}" for key, value in endpoint.credentials.items())
        table.add_row(endpoint.vendor, endpoint.base_url, credentials, endpoint.ca_bundle or "-")
    console.print(table)
    console.print("Admin API: <base URL>/__sandbox/ (seed, records, clock, faults, listeners). Ctrl-C stops.")


@sandbox_app.command()
def up(
    vendors: Annotated[str, typer.Option(help="Comma-separated vendors to run (all: every one).")] = "salesforce",
    port_base: Annotated[int, typer.Option(help="First port; each next vendor gets the next port. 0 = free.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per vendor per line.")] = False,
    seed: Annotated[int, typer.Option(help="Fake records to seed per main object at start-up.")] = 0,
    faker_seed: Annotated[int, typer.Option(help="Faker seed; the same seed gives the same records.")] = 42,
    ca_dir: Annotated[Path | None, typer.Option(help="Where to write the CA bundle (reused if present).")] = None,
) -> None:
    """Start the emulators and print how to reach them; runs until interrupted."""
    names = available_vendors() if vendors.strip() == "all" else [
        name.strip().lower() for name in vendors.split(",") if name.strip()]
    unknown = sorted(set(names) - set(available_vendors()))
    if unknown or not names:
        raise typer.BadParameter(f"unknown vendor(s) {', '.join(unknown)}; available: {', '.join(available_vendors())}")
    runner = SandboxRunner(names, port_base=port_base or None, ca_dir=ca_dir, faker_seed=faker_seed)
    try:
        runner.start()
    except (OSError, RuntimeError, SandboxAdminError) as exc:
        typer.echo(f"sandbox failed to start: {exc}", err=True)
        raise typer.Exit(1) from exc
    try:
        for vendor, emulator in runner.emulators.items():
            for object_name in SEEDED_OBJECTS.get(vendor, ()) if seed else ():
                emulator.backend.seed(object_name, seed, faker_seed)
        endpoints = list(runner.endpoints.values())
        if as_json:
            for endpoint in endpoints:
                line = {"vendor": endpoint.vendor, "base_url": endpoint.base_url,
                        "credentials": endpoint.credentials, "ca_bundle": endpoint.ca_bundle}
                typer.echo(json.dumps(line))
        else:
            _print_table(Console(), endpoints)
        threading.Event().wait()  # until Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
