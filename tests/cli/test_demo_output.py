"""`crmsync demo` as `make demo` runs it: the same output on every run, no warning, and "Try:" lines that work
as printed in a fresh shell."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_support import run_process


@pytest.mark.slow
def test_the_demo_prints_the_same_every_run_and_its_suggestions_work(tmp_path: Path) -> None:
    first = run_process("demo", cwd=tmp_path, timeout=120)
    second = run_process("demo", cwd=tmp_path, timeout=120)  # the store is recreated
    assert first.exit_code == 0, first.output
    # Compared as printed, nothing normalised: no random ids, ports, timings or wall-clock times.
    assert first.stdout == second.stdout
    assert first.stderr == second.stderr == ""
    assert "warning" not in first.stdout.lower()
    tries = [line.strip() for line in first.stdout.splitlines() if line.startswith("        CRMSYNC_DATABASE_URL=")]
    assert len(tries) == 4, first.stdout
    for line in tries:  # a fresh shell: no virtualenv on PATH, no crmsync variables
        shell = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                               env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200"})
        assert shell.returncode == 0, (line, shell.stdout, shell.stderr)
        assert shell.stdout.strip() and not shell.stderr, (line, shell.stderr)
