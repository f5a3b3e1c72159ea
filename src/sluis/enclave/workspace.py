"""The enclave's workspace and its data (A5, G10): ``<work>/<party>/enclave/`` of a phase-2
run, with ``data/`` laid out exactly like the ``data/`` folder of a phase-1 package.

Why a copy laid out like the package: decision 25/074 §4 asks the researchers to apply the
algorithms they developed on the phase-1 delivery to the full samples. A script that reads
``$SLUIS_DATA/parquet/person.parquet`` (or the CSV, or the Stata file with its value labels)
on the decrypted phase-1 package reads the enclave's data without a change, because both are
written by the same public functions of :mod:`sluis.deliver` from the same spec: the same
dataset names, columns, types, codes, codebook and layout.

What differs, on purpose: the enclave's data are the run's staged extract (pseudonymised and
coarsened as the spec says), not an SCRA-treated copy. The SCRA protects a delivery that
leaves; nothing leaves the enclave but results, and those pass the output checks and two
reviewers. A column that phase 1's SCRA recoded globally (``scra.recode``) keeps the spec's
own, finer coding here; the codebook says which.

``enclave/data.json`` records the data's checkpoint: the SHA-256 of every file and one
digest over them, which every job's ``run.json`` and ``job-run`` audit record carries.

At rest the data are sealed (issue 18, crypto-shredding): ``sluis enclave build`` builds
``data/`` in a private folder and seals it under the data key of the phase-2 run (which
sealed its staged extract from its first write) and registers them as the entry
``<project>-enclave`` with the spec's deadline. A job sees them only through
:meth:`Enclave.opened_data`, a private plaintext copy removed after the job; once
``sluis retain destroy`` has destroyed the key, no job runs and no copy of the sealed
files can be opened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from sluis.atomic import fsync_dir, write_text
from sluis.audit import open_log
from sluis.audit.log import AuditLog
from sluis.deliver import documents
from sluis.deliver.codebook import build_codebook, read_dataset, treated_files
from sluis.deliver.package import sha256_file, write_exports
from sluis.errors import SluisError
from sluis.flow.lock import command_line, workspace_lock
from sluis.retain import hold, register, vault
from sluis.spec import load_spec
from sluis.spec.load import read_document
from sluis.spec.model import Spec

#: the enclave's folder in the pseudonymiser's workspace
ENCLAVE = "enclave"
#: the purpose bound into the enclave data's sealed files (sluis.retain.hold.ENCLAVE_SEALED)
DATA_PURPOSE = dict(hold.ENCLAVE_SEALED)["enclave/data"]
#: the enclave data's name in its README (the package name of a delivery)
DATA_NAME = "{project}-enclave"
_READ_ONLY_FILE = 0o444
_READ_ONLY_DIR = 0o555


class EnclaveError(SluisError):
    """An enclave the rules do not allow, or one that is not there yet."""


@dataclass(frozen=True)
class Enclave:
    """Where one enclave's parts are, and the run and spec it belongs to."""

    work: Path
    party: str
    run: dict[str, Any]

    @property
    def home(self) -> Path:
        """The pseudonymiser's workspace (its audit log and key store live here)."""
        return self.work / self.party

    @property
    def root(self) -> Path:
        return self.home / ENCLAVE

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def data_record(self) -> Path:
        return self.root / "data.json"

    @property
    def jobs(self) -> Path:
        return self.root / "jobs"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def store(self) -> Path:
        """The key store the run signed the audit log with."""
        return Path(self.run["key_store"]) if self.run.get("key_store") else self.home / "keys"

    def log(self) -> AuditLog:
        """The party's audit log, where every enclave event is a record (G10)."""
        return open_log(self.home / "audit.log", party=self.party, store=self.store)

    @property
    def entry(self) -> str:
        """The data's name in the party's delivery register (``25-074-enclave``)."""
        return hold.enclave_entry(str(self.run["decision"]).replace("/", "-"))

    def check_kept(self) -> None:
        """Refuse an enclave whose data the register says were destroyed (issue 18)."""
        for line in register.lines(self.home):
            if line["delivery"] == self.entry and line["event"] == "destroyed":
                raise EnclaveError(
                    f"the enclave's data were destroyed on {line.get('day', '?')} "
                    f"({line.get('reason') or 'the retention deadline'}): no job can run "
                    "and nothing more is released",
                    rule="enclave-destroyed",
                    file=str(register.register_path(self.home)),
                    hint="the destruction record is in destruction/" + self.entry + ".json",
                )

    def record(self) -> dict[str, Any]:
        """``data.json``: the data's checkpoint and the spec it was built under; an
        enclave without data, or whose data were destroyed, is refused."""
        self.check_kept()
        if not self.data_record.is_file() or not self.data.is_dir():
            raise EnclaveError(
                "the enclave has no data yet",
                rule="enclave-not-built",
                file=str(self.root),
                hint=f"build it first: sluis enclave build --work {self.work}",
            )
        return dict(json.loads(self.data_record.read_text(encoding="utf-8")))

    def checkpoint(self) -> str:
        """The data's checkpoint (one digest over every file of ``data/``)."""
        return str(self.record()["checkpoint"])

    @contextmanager
    def opened_data(self) -> Iterator[Path]:
        """``with enclave.opened_data() as data:`` the enclave's data in plaintext, in a
        private folder (read-only: files 0444, folders 0555) removed on exit, for one job
        and its checks; ``data/`` itself when it is not sealed (built before sealing)."""
        self.record()
        with vault.opened(
            self.data, store=self.store, purpose=DATA_PURPOSE, work=self.home
        ) as plain:
            if plain == self.data:
                yield plain
                return
            _set_read_only(plain)
            try:
                yield plain
            finally:  # the private folder is removed by its owner: writable again
                for p in [plain, *plain.rglob("*")]:
                    if p.is_dir():
                        os.chmod(p, stat.S_IRWXU)

    def spec(self) -> Spec:
        """The spec the data were built under (its thresholds and limits), refused when the
        file changed since."""
        path = Path(self.record()["spec"])
        return _checked_spec(self, path)[0]


def open_enclave(work: Path) -> Enclave:
    """The enclave of the run in ``work``; refuses a workspace without a run and a run of a
    phase whose mode is not ``enclave`` (A5: a delivery phase's data leave as a package and
    have no enclave)."""
    work = Path(work)
    record = work / "run.json"
    if not record.is_file():
        raise EnclaveError(
            "no run in the workspace (no run.json)",
            rule="enclave-no-run",
            file=str(work),
            hint="run the enclave phase first: sluis run SPEC --phase 2 --work WORK",
        )
    run = json.loads(record.read_text(encoding="utf-8"))
    if run.get("phase_mode") != "enclave":
        raise EnclaveError(
            f"phase {run.get('phase', '?')} of {run.get('decision', '?')} is a "
            f"{run.get('phase_mode') or 'delivery'} phase, not an enclave phase",
            rule="not-enclave",
            file=str(record),
            hint="an enclave is built from a phase whose mode is enclave "
            "(25/074: sluis run specs/25-074.yaml --phase 2)",
        )
    return Enclave(work=work, party=str(run["party"]), run=run)


def default_spec(run: dict[str, Any], specs: Path = Path("specs")) -> Path:
    """The shipped spec of the run's decision (``specs/25-074.yaml`` for 25/074)."""
    return specs / f"{str(run['decision']).replace('/', '-')}.yaml"


def _checked_spec(enclave: Enclave, spec_path: Path) -> tuple[Spec, str]:
    """The spec the run used: same digest, and the run's phase has mode ``enclave``."""
    digest = read_document(spec_path).sha256
    if digest != enclave.run.get("spec_sha256"):
        raise EnclaveError(
            f"the run used another spec (digest {str(enclave.run.get('spec_sha256'))[:12]}, "
            f"this file {digest[:12]})",
            rule="spec-mismatch",
            file=str(spec_path),
            hint="give the spec file the run used (--spec)",
        )
    spec = load_spec(spec_path)
    phase = spec.phases.get(int(enclave.run["phase"]))
    if phase is None or phase.mode != "enclave":
        raise EnclaveError(
            f"phase {enclave.run['phase']} of {spec.decision.id} is not an enclave phase",
            rule="not-enclave",
            file=str(spec_path),
        )
    return spec, digest


def data_checkpoint(files: dict[str, str]) -> str:
    """One digest over the data's files (path -> SHA-256): the manifest's SHA-256."""
    manifest = "".join(f"{sha}  {rel}\n" for rel, sha in sorted(files.items()))
    return hashlib.sha256(manifest.encode()).hexdigest()


def digest_tree(root: Path) -> dict[str, str]:
    """The SHA-256 of every file under ``root``, by path relative to it."""
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _write_data(folder: Path, spec: Spec, digest: str, staged: Path, created: dt.date) -> dict:
    """Write the data folder like a package's ``data/``; returns dataset -> rows."""
    tables: dict[str, pa.Table] = {
        d: read_dataset(spec, d, p) for d, p in treated_files(spec, staged).items()
    }
    codebook = build_codebook(spec, digest, tables, created=created, scra=None)
    formats = list(spec.delivery.formats)
    write_exports(folder, codebook, tables, formats, created=created)
    name = DATA_NAME.format(project=spec.slug)
    spec_file = spec.slug + ".yaml"
    (folder / "codebook").mkdir(exist_ok=True)
    texts = {
        "spec.sha256": f"{digest}  {spec_file}\n",
        "README.md": documents.readme(codebook, formats, name),
        "codebook/codebook.html": documents.codebook_html(codebook),
    }
    for rel, text in texts.items():
        (folder / rel).write_text(text, encoding="utf-8")
    (folder / "codebook" / "ddi-codebook.xml").write_bytes(documents.ddi(codebook))
    described = {
        rel: ((folder / rel).stat().st_size, sha) for rel, sha in digest_tree(folder).items()
    }
    (folder / "datapackage.json").write_text(
        documents.dumps(documents.datapackage(codebook, described)), encoding="utf-8"
    )
    return {d.name: d.rows for d in codebook.datasets}


def _set_read_only(root: Path) -> None:
    """Files 0444, folders 0555: even the enclave's own processes cannot change the data
    by mistake (jobs see it through a read-only mount as well)."""
    for p in sorted(root.rglob("*"), reverse=True):
        os.chmod(p, _READ_ONLY_DIR if p.is_dir() else _READ_ONLY_FILE)
    os.chmod(root, _READ_ONLY_DIR)


def remove_tree(root: Path) -> None:
    """Remove ``root`` and everything in it, the enclave's read-only data included."""
    if not root.exists():
        return
    for p in [root, *root.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            os.chmod(p, stat.S_IRWXU)
    shutil.rmtree(root)


@dataclass(frozen=True)
class BuiltData:
    """What :func:`build_data` wrote."""

    path: Path
    checkpoint: str
    files: int
    rows: dict[str, int]


def build_data(
    work: Path, spec_path: Path | None = None, *, created: dt.date, force: bool = False
) -> BuiltData:
    """Build ``<work>/<party>/enclave/data/`` from the phase-2 run's staged extract.

    Refuses a run whose phase is not an enclave phase, a spec other than the run's, and
    (without ``force``) data that are already there: jobs recorded the old checkpoint.
    The folder is written under a temporary name and renamed when complete; then it is
    made read-only and ``data.json`` and an ``enclave-built`` audit record carry its
    checkpoint. ``created`` dates the codebook and the Stata files (X3: never the clock).
    """
    enclave = open_enclave(work)
    spec, digest = _checked_spec(enclave, Path(spec_path or default_spec(enclave.run)))
    with workspace_lock(Path(work), command_line()):
        enclave.check_kept()
        if enclave.data.exists() and not force:
            raise EnclaveError(
                "the enclave already has its data",
                rule="enclave-exists",
                file=str(enclave.data),
                hint="give --force to rebuild it (jobs keep the checkpoint they ran on)",
            )
        partial = enclave.root / ".data.partial"
        if partial.exists():
            remove_tree(partial)
        partial.mkdir(parents=True, mode=0o700)
        key_id = hold.enclave_key(enclave.home, store=enclave.store)
        try:
            staged = enclave.home / "staged"
            # built in a private folder and sealed from there: no plaintext in the workspace
            with (
                vault.opened(
                    staged, store=enclave.store, purpose="staged", work=enclave.home
                ) as plain,
                vault.private_folder(enclave.home) as built,
            ):
                rows = _write_data(built, spec, digest, plain, created)
                files = digest_tree(built)  # the checkpoint is over the plaintext
                vault.seal_copy(
                    built, partial, store=enclave.store, key_id=key_id, purpose=DATA_PURPOSE
                )
            _set_read_only(partial)
            if enclave.data.exists():
                remove_tree(enclave.data)
            partial.rename(enclave.data)
            fsync_dir(enclave.root)
        except BaseException:
            if partial.exists():
                remove_tree(partial)
            raise
        checkpoint = data_checkpoint(files)
        record = {
            "decision": spec.decision.id,
            "phase": enclave.run["phase"],
            "spec_sha256": digest,
            "spec": str(Path(spec_path or default_spec(enclave.run)).resolve()),
            "created": created.isoformat(),
            "checkpoint": checkpoint,
            "rows": rows,
            "files": files,
        }
        write_text(enclave.data_record, json.dumps(record, indent=2, sort_keys=True) + "\n")
        hold.seal_enclave(enclave.home, store=enclave.store, key_id=key_id)
        with enclave.log() as audit:
            audit.append(
                "enclave-built",
                {
                    "checkpoint": checkpoint,
                    "files": len(files),
                    "rows": rows,
                    "phase": record["phase"],
                },
            )
            hold.hold_enclave(
                enclave.home,
                store=enclave.store,
                audit=audit,
                spec=spec,
                key_id=key_id,
                checkpoint=checkpoint,
                created=created,
            )
    return BuiltData(enclave.data, checkpoint, len(files), rows)
