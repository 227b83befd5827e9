"""One root error with a few branches chosen by what the caller should do about it.

Every message is written for the person running crmsync: it says what is wrong and what to change.
Secrets never go into a message.
"""

from __future__ import annotations


class CrmsyncError(Exception):
    """Root of every error crmsync raises on purpose; the CLI prints its message as one line."""


class ConfigError(CrmsyncError):
    """The configuration file or environment is wrong; fix the named key."""


class MappingError(CrmsyncError):
    """A mapping file is invalid, or a record could not be mapped; the message names file/object/field."""


class RecordMappingError(MappingError):
    """One source record failed mapping; the page goes on and the error is recorded against that record."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class StoreError(CrmsyncError):
    """The canonical store cannot be reached or is not at the expected schema version."""


class NotFoundError(CrmsyncError):
    """A record, conflict or connection named on the command line does not exist."""


class RecordNotWritable(MappingError):
    """A canonical record lacks what a target requires to hold it (a last name, say): the outbox holds it with
    this reason instead of sending it, and a later change of the record tries again."""
