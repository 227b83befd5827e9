"""The six sandboxes, started once for the system tests and reset before each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from system_support import Sandboxes, six_sandboxes


@pytest.fixture(scope="session")
def all_six() -> Iterator[Sandboxes]:
    with six_sandboxes() as sandboxes:
        yield sandboxes


@pytest.fixture
def sandboxes(all_six: Sandboxes) -> Sandboxes:
    all_six.reset()
    return all_six
