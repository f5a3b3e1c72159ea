"""Enclave jobs (A5, decision 25/074 §4 and §29): the enclave's data are laid out like the
phase-1 package's data/, so the same script, byte for byte, runs on the phase-1 package
outside the enclave and on the phase-2 data inside it; Python and R jobs; job files the
enclave refuses; a phase that is not an enclave phase has no enclave. Real runs, real
bubblewrap, real Rscript."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from enclave_world import DAY, ROOT, SPEC, World, make_world, write_job
from sluis.cli.app import app
from sluis.deliver import build_package, sha256_file
from sluis.enclave.jobs import JobError, read_job_file, submit
from sluis.enclave.sandbox import LIBRARY_MOUNT
from sluis.enclave.workspace import EnclaveError, build_data
from sluis.errors import UsageError
from sluis.flow import run_spec
from sluis.flow.retain import opened_held
from sluis.spec import load_spec, spec_digest

pytestmark = pytest.mark.slow
EXAMPLE = ROOT / "examples" / "enclave" / "employment-by-arrival"
LIBRARY = ROOT / "src" / "sluis" / "enclave" / "researcher"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory)


@pytest.fixture(scope="module")
def phase1(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The phase-1 package's data/ folder, as the researcher has it once decrypted."""
    work = tmp_path_factory.mktemp("phase1")
    run_spec(SPEC, world.sources, phase=1, work=work, check=False)
    scra = work / "ksz" / "scra"
    with opened_held(scra / "staged") as treated:  # sealed from the run's first write (G9)
        info = build_package(
            load_spec(SPEC),
            spec_digest(SPEC),
            treated,
            scra,
            tmp_path_factory.mktemp("package"),
            created=DAY,
        )
    return info.path / "data"


def _fields(data: Path, fmt: str, dataset: str) -> list[dict]:
    package = json.loads((data / "datapackage.json").read_text())
    ext = {"parquet": "parquet", "csv": "csv", "stata": "dta"}[fmt]
    resource = next(r for r in package["resources"] if r["path"] == f"{fmt}/{dataset}.{ext}")
    return resource["schema"]["fields"]


@pytest.fixture
def opened(world: World) -> Iterator[Path]:
    """The enclave's data in plaintext (sealed at rest), as a job sees them at /data."""
    with world.enclave.opened_data() as data:
        yield data


def test_a5_the_enclave_data_has_the_phase_one_packages_layout(
    world: World, phase1: Path, opened: Path
) -> None:
    """Same files (but the delivery's own: SCRA report, audit checkpoint), same columns
    and Arrow types, same CSV headers, same Stata variables, the same code for the same
    label wherever both hold a category."""
    enclave = opened
    delivery_only = {"scra/scra.html", "scra/scra.json", "audit-checkpoint.json"}
    ours = {p.relative_to(enclave).as_posix() for p in enclave.rglob("*") if p.is_file()}
    theirs = {p.relative_to(phase1).as_posix() for p in phase1.rglob("*") if p.is_file()}
    assert ours == theirs - delivery_only
    for dataset in load_spec(SPEC).datasets:
        a = pq.read_schema(enclave / "parquet" / f"{dataset}.parquet")
        b = pq.read_schema(phase1 / "parquet" / f"{dataset}.parquet")
        assert a.names == b.names and a.types == b.types, dataset
        with (
            (enclave / "csv" / f"{dataset}.csv").open() as x,
            (phase1 / "csv" / f"{dataset}.csv").open() as y,
        ):
            assert next(csv.reader(x)) == next(csv.reader(y))
        for fmt in ("parquet", "csv", "stata"):
            pairs = zip(_fields(enclave, fmt, dataset), _fields(phase1, fmt, dataset), strict=True)
            for f, g in pairs:
                assert (f["name"], f["type"], f["sluis:coarsening"]) == (
                    g["name"],
                    g["type"],
                    g["sluis:coarsening"],
                ), (fmt, dataset)
                codes = {c["value"]: c["label"] for c in f.get("categories", [])}
                for c in g.get("categories", []):
                    if c["value"] in codes:
                        assert codes[c["value"]] == c["label"], (fmt, dataset, f["name"])


def test_a5_the_same_script_runs_on_phase_one_and_in_the_enclave(
    world: World, phase1: Path, tmp_path: Path
) -> None:
    """The example job: a plain process on the phase-1 package (SLUIS_DATA set, the helper
    library next to it) and a sandboxed job on the phase-2 data; the script the enclave
    ran is the same bytes, and both write the same tables (other numbers)."""
    outside = tmp_path / "outside"
    env = {
        "PATH": os.environ["PATH"],
        "SLUIS_DATA": str(phase1),
        "SLUIS_OUTPUT": str(outside),
        "PYTHONPATH": str(LIBRARY),
    }
    subprocess.run(
        [sys.executable, str(EXAMPLE / "script.py")], env=env, check=True, capture_output=True
    )
    done = submit(world.enclave, EXAMPLE)
    assert done.outcome.state == "finished", done.outcome
    assert sha256_file(done.folder / "code" / "script.py") == sha256_file(EXAMPLE / "script.py")
    inside = done.folder / "outputs"
    assert sorted(p.name for p in inside.iterdir()) == sorted(p.name for p in outside.iterdir())
    for table in sorted(outside.glob("*.csv")):
        a, b = table.read_text().splitlines(), (inside / table.name).read_text().splitlines()
        assert a[0] == b[0] and len(a) > 1 and len(b) > 1
    assert done.verdict in ("pass", "review", "fail")
    assert json.loads((done.folder / "checks.json").read_text())["verdict"] == done.verdict


def test_a5_an_r_job_reads_csv_and_stata_with_haven(world: World, tmp_path: Path) -> None:
    job = write_job(
        tmp_path / "r",
        """
        data <- Sys.getenv("SLUIS_DATA")
        stopifnot(file.exists(Sys.getenv("SLUIS_OUTPUT_R")))
        persons <- read.csv(file.path(data, "csv", "person.csv"), colClasses = "character")
        stata <- haven::read_dta(file.path(data, "stata", "person.dta"))
        stopifnot(nrow(persons) == nrow(stata))
        counts <- as.data.frame(table(sex = persons$sex), responseName = "n")
        write.csv(counts, file.path(Sys.getenv("SLUIS_OUTPUT"), "by_sex.csv"), row.names = FALSE)
        cat("persons:", nrow(persons), "\\n")
        """,
        language="r",
    )
    done = submit(world.enclave, job)
    assert done.outcome.state == "finished", (done.folder / "logs" / "stderr.txt").read_text()
    rows = list(csv.DictReader((done.folder / "outputs" / "by_sex.csv").open()))
    assert sum(int(r["n"]) for r in rows) == world.enclave.record()["rows"]["person"]


def test_a5_the_helper_library_is_on_the_path_read_only(world: World, tmp_path: Path) -> None:
    job = write_job(
        tmp_path / "lib",
        f"""
        import os, sluis_output
        folder = os.path.dirname(sluis_output.__file__)
        assert folder == {LIBRARY_MOUNT!r}
        for mount in (folder, "/data", "/code", os.path.dirname(os.__file__)):
            assert os.statvfs(mount).f_flag & os.ST_RDONLY, mount
        assert not os.statvfs("/output").f_flag & os.ST_RDONLY
        """,
    )
    done = submit(world.enclave, job)
    assert done.outcome.state == "finished", (done.folder / "logs" / "stderr.txt").read_text()


def test_a5_a_delivery_phase_has_no_enclave(world: World, tmp_path: Path) -> None:
    """25/074 phase 1 is delivered, not analysed on site: building its enclave is refused."""
    work = tmp_path / "phase1"
    run_spec(SPEC, world.sources, phase=1, work=work, check=False)
    with pytest.raises(EnclaveError, match="phase 1 of 25/074 is a delivery phase") as err:
        build_data(work, SPEC, created=DAY)
    assert err.value.rule == "not-enclave"
    assert not (work / "ksz" / "enclave").exists()
    done = subprocess.run(
        [sys.executable, "-m", "sluis.cli.app", "enclave", "build", "--work", str(work)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not-enclave" in done.stderr, done.stderr


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"language": "perl"}, "language"),
        ({"entry": "missing.py"}, "entry"),
        ({"entry": "../script.py"}, "entry"),
        ({"description": ""}, "description"),
        ({"cpu": 4}, "cpu"),
    ],
)
def test_a5_a_bad_job_file_names_the_field(tmp_path: Path, change: dict, field: str) -> None:
    job = write_job(tmp_path / "job", "print(1)\n")
    fields = json.loads((job / "job.yaml").read_text())
    (job / "job.yaml").write_text(json.dumps(fields | change))
    with pytest.raises(JobError) as err:
        read_job_file(job)
    assert err.value.file == str(job / "job.yaml")
    assert f"field {field}" in str(err.value)


def test_a5_a_job_folder_with_a_link_is_refused(world: World, tmp_path: Path) -> None:
    """Copying the folder would follow the link and bring a host file into the sandbox."""
    job = write_job(tmp_path / "job", "print(open('/code/keys').read())\n")
    (job / "keys").symlink_to(world.enclave.home / "keys")
    before = sorted(world.enclave.jobs.iterdir()) if world.enclave.jobs.exists() else []
    with pytest.raises(JobError, match="only plain files"):
        submit(world.enclave, job)
    after = sorted(world.enclave.jobs.iterdir()) if world.enclave.jobs.exists() else []
    assert before == after


def test_a5_limits_are_lowered_never_raised(world: World, tmp_path: Path) -> None:
    job = write_job(tmp_path / "job", "print(1)\n")
    with pytest.raises(UsageError, match="--memory-mib 999999: the spec allows 1 to 4096"):
        submit(world.enclave, job, limits={"memory_mib": 999_999})


def test_a5_cli_submit_and_jobs(world: World, tmp_path: Path) -> None:
    """``sluis enclave submit`` says how the job ended (exit 1 when it did not finish);
    ``sluis enclave jobs`` lists every job with its state."""
    runner = CliRunner()
    good = write_job(tmp_path / "good", "print('hello')\n")
    bad = write_job(tmp_path / "bad", "import time; time.sleep(30)\n")
    ok = runner.invoke(app, ["enclave", "submit", str(good), "--work", str(world.work)])
    assert ok.exit_code == 0, ok.output
    assert ": finished in " in ok.output
    slow = runner.invoke(
        app,
        ["enclave", "submit", str(bad), "--work", str(world.work), "--wall-seconds", "1"],
    )
    assert slow.exit_code == 1
    assert "stopped (wall-time limit: stopped after 1 s)" in slow.output
    listed = runner.invoke(app, ["enclave", "jobs", "--work", str(world.work)])
    assert listed.exit_code == 0
    for record in (p / "run.json" for p in world.enclave.jobs.iterdir()):
        job = json.loads(record.read_text())
        assert job["job"] in listed.output
    assert "stopped" in listed.output and "finished" in listed.output


def test_a5_nothing_of_a_stopped_job_can_be_approved(world: World, tmp_path: Path) -> None:
    """A job stopped at a limit wrote a table that passes its checks; no reviewer can
    approve it (nor its logs): only a finished job's outputs are reviewed."""
    from sluis.enclave import reviewers
    from sluis.enclave.reviews import ReviewError, decide

    job = write_job(
        tmp_path / "job",
        """
        import os, time
        with open(os.path.join(os.environ["SLUIS_OUTPUT"], "t.csv"), "w") as fh:
            fh.write("sex,n\\n1,40\\n2,50\\n")
        time.sleep(30)
        """,
    )
    done = submit(world.enclave, job, limits={"wall_seconds": 1})
    assert done.outcome.state == "stopped"
    root = world.enclave.root
    if not reviewers.exists(root, "bart.claes"):
        reviewers.add(root, "bart.claes", "a long enough password")
    for output in ("outputs/t.csv", "logs/stdout.txt"):
        with pytest.raises(ReviewError, match="the job is stopped"):
            decide(
                root,
                done.id,
                output,
                reviewer="bart.claes",
                decision="approve",
                comment="looks fine",
                via="cli",
            )
