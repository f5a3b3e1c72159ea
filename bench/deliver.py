"""Benchmark of the delivery's archive, encryption and SFTP transfer (G8, G11).

On a package-like directory of at least 1 GB (random, incompressible bytes as encrypted or
compressed Parquet would be; written once under /tmp and reused), measures in one run:

- pack: the deterministic tar of the package directory, MB/s;
- encryption: pyrage (`sluis.deliver.encrypt.encrypt`) against the `age` CLI on the same
  tar to the same ssh-ed25519 recipient, MB/s and the ratio (goal >= 80%), alternating
  the two and taking medians;
- SFTP upload over loopback to the OpenSSH test server (tests/sshd.py), MB/s of the
  writes (goal >= 100 MB/s) and of the read-back SHA-256 verification, for a few block
  sizes and request windows.

Usage: .venv/bin/python bench/deliver.py [--size-mb 1024] [--repeat 3] [--dir /tmp/...]
Prints a table to paste into docs/transfer.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from sluis.deliver.encrypt import encrypt, pack  # noqa: E402
from sluis.deliver.transfer import upload  # noqa: E402
from sshd import running_sshd, sshd_missing  # noqa: E402

KEY = ROOT / "specs" / "demo-keys" / "uantwerpen-1"
MB = 1e6


def package(base: Path, size_mb: int) -> Path:
    """A package-like directory: a few large data files and small documentation files."""
    pkg = base / f"bench-package-{size_mb}mb"
    marker = pkg / ".complete"
    if marker.exists():
        return pkg
    shutil.rmtree(pkg, ignore_errors=True)
    (pkg / "data").mkdir(parents=True)
    parts = {"persons.parquet": 0.05, "panel.parquet": 0.55, "panel.dta": 0.25, "panel.csv": 0.15}
    chunk = 16 * 1024 * 1024
    for name, share in parts.items():
        left = int(size_mb * 1024 * 1024 * share)
        with (pkg / "data" / name).open("wb") as fh:
            while left > 0:
                n = min(chunk, left)
                fh.write(os.urandom(n))
                left -= n
    (pkg / "README.md").write_text("# bench package\n")
    (pkg / "manifest-sha256.txt").write_text("(not checked by the benchmark)\n")
    marker.touch()
    return pkg


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "sluis-bench")
    args = parser.parse_args()
    age = shutil.which("age")
    if age is None or sshd_missing():
        sys.exit(f"needs the age CLI and OpenSSH sshd: {sshd_missing() or 'age missing'}")
    args.dir.mkdir(parents=True, exist_ok=True)
    pkg = package(args.dir, args.size_mb)
    tar = args.dir / "bench.tar"
    recipient = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(KEY)], check=True, capture_output=True, text=True
    ).stdout.strip()
    rows: list[tuple[str, str, str]] = []

    pack_s = [timed(lambda: pack(pkg, tar)) for _ in range(args.repeat)]
    size = tar.stat().st_size
    rows.append(("pack (deterministic tar)", f"{size / MB / statistics.median(pack_s):.0f}", ""))

    pub = args.dir / "recipient.pub"
    pub.write_text(recipient + "\n")
    py_s, cli_s = [], []
    for _ in range(args.repeat):  # alternate so both see the same machine load
        py_s.append(timed(lambda: encrypt(tar, [recipient], args.dir / "py.age")))
        cli_s.append(
            timed(
                lambda: subprocess.run(
                    [age, "-R", str(pub), "-o", str(args.dir / "cli.age"), str(tar)], check=True
                )
            )
        )
    py_mbs = size / MB / statistics.median(py_s)
    cli_mbs = size / MB / statistics.median(cli_s)
    rows.append(("encrypt, pyrage", f"{py_mbs:.0f}", f"{py_mbs / cli_mbs:.0%} of age CLI"))
    rows.append(("encrypt, age CLI", f"{cli_mbs:.0f}", ""))
    os.unlink(args.dir / "cli.age")

    encrypted = args.dir / "py.age"
    shutil.rmtree(args.dir / "sshd", ignore_errors=True)
    with running_sshd(args.dir / "sshd") as server:
        for block, requests in [(255 * 1024, 32), (255 * 1024, 64), (64 * 1024, 64)]:
            up, ver = [], []
            for _ in range(args.repeat):
                for old in server.root.iterdir():
                    old.unlink()
                result = upload(
                    encrypted,
                    server.host,
                    server.port,
                    server.username,
                    server.client_key,
                    server.host_key,
                    str(server.root),
                    receipt=args.dir / "receipt.json",
                    block_size=block,
                    max_requests=requests,
                )
                up.append(result.upload_seconds)
                ver.append(result.verify_seconds)
            n = result.size / MB
            rows.append(
                (
                    f"SFTP upload, {block // 1024} KiB x {requests}",
                    f"{n / statistics.median(up):.0f}",
                    f"verify (read back + SHA-256) {n / statistics.median(ver):.0f} MB/s; "
                    f"total {n / (statistics.median(up) + statistics.median(ver)):.0f} MB/s",
                )
            )
        for old in server.root.iterdir():
            old.unlink()

    load = os.getloadavg()
    print(
        f"\npackage {size / MB:,.0f} MB (tar), median of {args.repeat}, "
        f"{os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n"
    )
    print(f"| {'step':<32} | {'MB/s':>6} | note |")
    print(f"|{'-' * 34}|{'-' * 8}|------|")
    for step, mbs, note in rows:
        print(f"| {step:<32} | {mbs:>6} | {note} |")


if __name__ == "__main__":
    main()
