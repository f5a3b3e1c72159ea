"""The real ``sluis`` entry point in a fresh process, as a user would run it (X2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def sluis(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``sluis ARGS`` through :func:`sluis.cli.app.main` in a new interpreter."""
    return subprocess.run(
        [sys.executable, "-c", "from sluis.cli.app import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
