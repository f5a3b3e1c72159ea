"""The delivery package (G8, X3): data files, codebook, README, SCRA report and manifests in a
BagIt-compatible layout, written atomically and reproducibly.

```
<out>/<name>/
  bagit.txt  bag-info.txt  manifest-sha256.txt  tagmanifest-sha256.txt
  data/README.md  data/spec.sha256  data/audit-checkpoint.json (when given)
  data/parquet/<dataset>.parquet  data/stata/<dataset>.dta  data/csv/<dataset>.csv
  data/datapackage.json (Frictionless: at the root of the files it describes)
  data/codebook/ddi-codebook.xml  data/codebook/codebook.html
  data/scra/scra.html  data/scra/scra.json  (the recipient's version of the SCRA report)
```

The package is built in a temporary sibling directory, every file fsynced, and renamed to
its final name only when complete: a failure leaves nothing under the final name (X2). The
same spec, treated extract, SCRA report, creation date and checkpoint give the same bytes in
every file (X3): no time of day anywhere, sorted keys, deterministic writers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyarrow as pa

from sluis.atomic import fsync_dir
from sluis.deliver import documents, exports
from sluis.deliver.codebook import Codebook, build_codebook, read_dataset, treated_files
from sluis.errors import SluisError
from sluis.files import sha256_file
from sluis.scra.result import RECIPIENT_DIR, private_keys
from sluis.spec.model import Spec

BAGIT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
#: the SCRA files delivered with the data: the recipient's version of the report, from
#: ``<scra_dir>/recipient/`` (the full report, the suppressions and their explanations stay
#: at the pseudonymiser)
SCRA_FILES = ("scra.html", "scra.json")
#: where each format goes under data/ and its file extension
FORMAT_DIRS = {"parquet": ("parquet", "parquet"), "stata": ("stata", "dta"), "csv": ("csv", "csv")}


@dataclass(frozen=True)
class PackageInfo:
    """What :func:`build_package` wrote."""

    path: Path
    name: str
    #: every file under ``data/`` (path relative to the bag, ``data/...``) -> SHA-256
    files: dict[str, str]
    #: dataset -> rows
    rows: dict[str, int]
    #: bytes of every file under ``data/``
    payload_bytes: int
    codebook: Codebook = field(repr=False)


def package_name(spec: Spec, created: dt.date) -> str:
    """``<decision>-<recipient>-<yyyymmdd>``, e.g. ``25-074-uantwerpen-20261201``."""
    return f"{spec.slug}-{spec.recipient.party}-{created:%Y%m%d}"


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with path.open("wb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())
    return path


def _payload(root: Path) -> list[Path]:
    """Every file under ``root/data``, sorted by its path relative to ``root``."""
    return sorted(
        (p for p in (root / "data").rglob("*") if p.is_file()),
        key=lambda p: p.relative_to(root).as_posix(),
    )


def _manifest(root: Path, files: list[Path]) -> tuple[str, dict[str, str]]:
    sums = {p.relative_to(root).as_posix(): sha256_file(p) for p in files}
    return "".join(f"{sha}  {rel}\n" for rel, sha in sorted(sums.items())), sums


def _scra_report(scra_dir: Path) -> dict[str, Any]:
    """The parsed recipient's ``scra.json`` (``scra_dir/recipient``), after checking that
    every SCRA file the package carries is there and that the report holds nothing of the
    pseudonymiser's version (examples of suppressed cells with their original values and
    rows, the workspace's files): read before the codebook, because the recode steps it
    lists decide the rule and the classes of a recoded column (G5, G8)."""
    folder = Path(scra_dir) / RECIPIENT_DIR
    for scra_file in SCRA_FILES:
        source = folder / scra_file
        if not source.is_file():
            raise SluisError(
                f"{source}: the recipient's SCRA report is missing",
                rule="scra-missing",
                file=str(source),
                hint="run the small-cell risk analysis (sluis scra --spec) again: it writes "
                "the recipient's version beside the full report",
            )
    source = folder / "scra.json"
    try:
        report = json.loads(source.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SluisError(
            f"{source}: the SCRA report is not JSON ({err})",
            rule="scra-invalid",
            file=str(source),
            hint="run the small-cell risk analysis (sluis scra --spec) again",
        ) from None
    if not isinstance(report, dict):
        raise SluisError(
            f"{source}: the SCRA report is not a JSON object",
            rule="scra-invalid",
            file=str(source),
        )
    leaked = private_keys(report)
    if leaked:
        raise SluisError(
            f"{source}: the SCRA report holds the pseudonymiser's {', '.join(sorted(leaked))}",
            rule="scra-not-redacted",
            file=str(source),
            hint="deliver only the recipient's version (sluis.scra.result.for_recipient)",
        )
    return report


def _bag_info(
    spec: Spec, spec_sha256: str, name: str, created: dt.date, files: list[Path], checkpoint: bool
) -> str:
    size = sum(p.stat().st_size for p in files)
    producer = spec.parties[spec.pseudonymiser].name
    lines = [
        ("Source-Organization", producer),
        ("Bagging-Date", created.isoformat()),
        ("External-Identifier", name),
        ("External-Description", f"Pseudonymised delivery under decision {spec.decision.id}"),
        ("Bag-Software-Agent", f"sluis {version('sluis')}"),
        ("Payload-Oxum", f"{size}.{len(files)}"),
        ("Sluis-Decision", spec.decision.id),
        ("Sluis-Recipient", spec.parties[spec.recipient.party].name),
        ("Sluis-Spec-SHA256", spec_sha256),
        (
            "Sluis-Retention-Deadline",
            spec.retention.deadline.isoformat() if spec.retention.deadline else "",
        ),
        ("Sluis-Formats", " ".join(spec.delivery.formats)),
    ]
    if checkpoint:
        lines.append(("Sluis-Audit-Checkpoint", "data/audit-checkpoint.json"))
    return "".join(f"{k}: {v}\n" for k, v in lines)


def write_exports(
    data: Path,
    codebook: Codebook,
    tables: dict[str, pa.Table],
    formats: list[str],
    *,
    created: dt.date,
) -> None:
    """Write every dataset in each of ``formats`` into ``data``'s format folders, as a
    package's ``data/`` holds them; the enclave writes its data with this too, so that a
    script written on a phase-1 package reads the enclave's data unchanged (A5)."""
    for fmt in ("parquet", "stata", "csv"):
        if fmt not in formats:
            continue
        folder, ext = FORMAT_DIRS[fmt]
        (data / folder).mkdir(parents=True, exist_ok=True, mode=0o700)
        for d in codebook.datasets:
            target = data / folder / f"{d.name}.{ext}"
            if fmt == "parquet":
                exports.write_parquet(tables[d.name], target)
            elif fmt == "csv":
                exports.write_csv(tables[d.name], target)
            else:
                exports.write_stata(tables[d.name], d, target, created=created)


def write_contents(
    root: Path,
    spec: Spec,
    spec_sha256: str,
    treated: Path,
    scra_dir: Path,
    *,
    created: dt.date,
    name: str,
    checkpoint: dict | None = None,
) -> PackageInfo:
    """Write the whole package into the (empty, temporary) directory ``root``."""
    data = root / "data"
    files = treated_files(spec, treated)
    tables: dict[str, pa.Table] = {d: read_dataset(spec, d, p) for d, p in files.items()}
    scra = _scra_report(Path(scra_dir))
    codebook = build_codebook(spec, spec_sha256, tables, created=created, scra=scra)
    formats = list(spec.delivery.formats)
    write_exports(data, codebook, tables, formats, created=created)
    for scra_file in SCRA_FILES:  # the recipient's version only (G5, G8)
        _write(data / "scra" / scra_file, (Path(scra_dir) / RECIPIENT_DIR / scra_file).read_bytes())
    spec_file = spec.slug + ".yaml"
    _write(data / "spec.sha256", f"{spec_sha256}  {spec_file}\n")
    if checkpoint is not None:
        _write(data / "audit-checkpoint.json", documents.dumps(checkpoint))
    _write(data / "README.md", documents.readme(codebook, formats, name))
    _write(data / "codebook" / "codebook.html", documents.codebook_html(codebook))
    _write(data / "codebook" / "ddi-codebook.xml", documents.ddi(codebook))
    described = {
        p.relative_to(data).as_posix(): (p.stat().st_size, sha256_file(p)) for p in _payload(root)
    }
    _write(
        data / "datapackage.json",
        documents.dumps(documents.datapackage(codebook, described)),
    )
    payload = _payload(root)
    manifest, sums = _manifest(root, payload)
    _write(root / "bagit.txt", BAGIT)
    _write(
        root / "bag-info.txt",
        _bag_info(spec, spec_sha256, name, created, payload, checkpoint is not None),
    )
    _write(root / "manifest-sha256.txt", manifest)
    tag_files = [root / n for n in ("bag-info.txt", "bagit.txt", "manifest-sha256.txt")]
    tags, _ = _manifest(root, tag_files)
    _write(root / "tagmanifest-sha256.txt", tags)
    for p in root.rglob("*"):
        os.chmod(p, 0o700 if p.is_dir() else 0o600)  # plaintext personal data: owner only
    for d in sorted({p.parent for p in root.rglob("*")} | {root}, reverse=True):
        fsync_dir(d)
    return PackageInfo(
        path=root,
        name=name,
        files=sums,
        rows={d.name: d.rows for d in codebook.datasets},
        payload_bytes=sum(p.stat().st_size for p in payload),
        codebook=codebook,
    )


def build_package(
    spec: Spec,
    spec_digest: str,
    treated: Path,
    scra_dir: Path,
    out: Path,
    *,
    created: dt.date,
    checkpoint: dict | None = None,
    name: str | None = None,
    force: bool = False,
) -> PackageInfo:
    """Build the plaintext package of a treated extract into ``out/<name>/``.

    ``spec_digest`` is the SHA-256 of the spec file (:func:`sluis.spec.spec_digest`);
    ``treated`` the directory of treated Parquet files (``<work>/ksz/scra/staged``);
    ``scra_dir`` the SCRA output (``scra.json``, ``scra.html``); ``created`` the package's
    date (taken from an input, never the clock, so the bytes are reproducible);
    ``checkpoint`` the current audit checkpoint, written as ``data/audit-checkpoint.json``.
    An existing package of that name is refused unless ``force``.
    """
    out = Path(out)
    name = name or package_name(spec, created)
    final = out / name
    if final.exists() and not force:
        raise SluisError(
            f"{final} already exists",
            rule="package-exists",
            file=str(final),
            hint="remove it, or replace it with --force (sluis deliver)",
        )
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=out))
    try:
        info = write_contents(
            tmp,
            spec,
            spec_digest,
            treated,
            scra_dir,
            created=created,
            name=name,
            checkpoint=checkpoint,
        )
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".old", dir=out))
            os.replace(final, old / name)
        os.replace(tmp, final)
        fsync_dir(out)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return PackageInfo(
        path=final,
        name=info.name,
        files=info.files,
        rows=info.rows,
        payload_bytes=info.payload_bytes,
        codebook=info.codebook,
    )


def read_manifest(path: Path) -> dict[str, str]:
    """A BagIt manifest (``<sha256>  <path>`` per line) as path -> SHA-256."""
    sums = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            sha, _, rel = line.partition("  ")
            sums[rel] = sha
    return sums


def read_bag_info(path: Path) -> dict[str, str]:
    """A BagIt ``bag-info.txt`` (``Label: value`` per line) as label -> value; one reader for
    the sender's privacy scan and the researcher's `sluis receive`. Read leniently (bytes
    that are not UTF-8 replaced): the scan reads it before anything else is checked."""
    info = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            info[key.strip()] = value.strip()
    return info


def verify_package(path: Path) -> list[str]:
    """Problems of a package against its manifests: a file missing, added or changed.
    An empty list means every file verifies."""
    root = Path(path)
    problems = []
    for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        if not (root / manifest).is_file():
            problems.append(f"{manifest}: missing")
            continue
        for rel, sha in read_manifest(root / manifest).items():
            target = root / rel
            if not target.is_file():
                problems.append(f"{rel}: missing")
            elif sha256_file(target) != sha:
                problems.append(f"{rel}: SHA-256 differs from {manifest}")
    if (root / "manifest-sha256.txt").is_file():
        listed = set(read_manifest(root / "manifest-sha256.txt"))
        for p in _payload(root):
            rel = p.relative_to(root).as_posix()
            if rel not in listed:
                problems.append(f"{rel}: not in manifest-sha256.txt")
    return problems
