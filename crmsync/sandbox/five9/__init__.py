"""Five9-style contact-center emulator: web connectors fired on call events, Call Log reports over SOAP."""

from crmsync.sandbox.five9.app import FIVE9_FAULTS, create_five9_emulator
from crmsync.sandbox.framework.emulator import register_emulator

register_emulator("five9", create_five9_emulator)

__all__ = ["FIVE9_FAULTS", "create_five9_emulator"]
