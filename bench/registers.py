"""The synthetic registers the flow benchmarks run on: ``<root>/be-<scale>``, seed 1,
generated once (not timed) and reused by every benchmark."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLUIS = ROOT / ".venv" / "bin" / "sluis"


def ensure_data(root: Path, scale: float) -> Path:
    """``<root>/be-<scale>``, generated with ``sluis synth`` when it is not there yet."""
    data = root / f"be-{scale}"
    if not (data / "_synth.json").exists():
        print(f"generating scale {scale} into {data} (not timed) ...", flush=True)
        command = [str(SLUIS), "synth", "--scale", str(scale), "--seed", "1"]
        subprocess.run([*command, "--out", str(data), "--force"], check=True)
    return data
