"""The researchers' helper library, sluis_output (Python and R; A5, B11): it writes a
table with the sidecar the output checks read, from whatever the script computed the
aggregates with (DuckDB, pyarrow, plain Python), without importing sluis, and the checks
accept what it writes. A property test holds :func:`summarise` to a plain reference."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluis.enclave.checks import Thresholds, check_outputs

RESEARCHER = Path(__file__).parents[1] / "src/sluis/enclave/researcher"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sluis_output", RESEARCHER / "sluis_output.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


so = _load()


def _verdicts(folder: Path) -> dict[str, str]:
    files = sorted(p for p in folder.iterdir() if p.is_file())
    report = check_outputs(files, folder, thresholds=Thresholds())
    return {o.file: o.verdict for o in report.outputs}


def test_a5_table_writes_csv_and_sidecar(tmp_path: Path) -> None:
    path = so.table(
        {"region": ["a", "b"], "year": [2012, 2013], "n": [12, 30]}, "t", output=tmp_path
    )
    assert path == tmp_path / "t.csv"
    assert path.read_text() == "region,year,n\na,2012,12\nb,2013,30\n"
    meta = json.loads((tmp_path / "t.meta.json").read_text())
    assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["dimensions"] == ["region", "year"]
    assert meta["cells"] == {
        "keys": {"region": ["a", "b"], "year": [2012, 2013]},
        "count": [12, 30],
    }
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a5_table_reads_duckdb_pyarrow_and_rows_alike(tmp_path: Path) -> None:
    rel = duckdb.sql("SELECT * FROM (VALUES ('a', 12), ('b', 30)) t(region, n) ORDER BY 1")
    sources = {
        "duckdb": rel,
        "arrow": pa.table({"region": ["a", "b"], "n": [12, 30]}),
        "rows": [{"region": "a", "n": 12}, {"region": "b", "n": 30}],
    }
    written = {
        name: so.table(data, "t", output=tmp_path / name).read_bytes()
        for name, data in sources.items()
    }
    assert len(set(written.values())) == 1


def test_a5_magnitude_keeps_top_contributions_in_the_sidecar_only(tmp_path: Path) -> None:
    so.table(
        {"g": ["x"], "total": [5000], "n": [12], "top1": [900], "top2": [800]},
        "m",
        kind="magnitude",
        output=tmp_path,
    )
    assert (tmp_path / "m.csv").read_text() == "g,total,n\nx,5000,12\n"
    meta = json.loads((tmp_path / "m.meta.json").read_text())
    assert meta["cells"]["top1"] == [900] and meta["cells"]["contributors"] == [12]


def test_a5_bad_calls_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no column 'n' for contributors"):
        so.table({"g": ["x"], "total": [1]}, "m", kind="magnitude", output=tmp_path)
    with pytest.raises(ValueError, match="kind must be one of"):
        so.table({"g": ["x"], "n": [1]}, "m", kind="mean", output=tmp_path)
    with pytest.raises(ValueError, match="plain file name"):
        so.table({"g": ["x"], "n": [1]}, "../m", output=tmp_path)
    with pytest.raises(ValueError, match="not a number"):
        so.table({"g": ["x"], "n": ["many"]}, "m", output=tmp_path)


def test_a5_model_records_residual_df(tmp_path: Path) -> None:
    so.model(
        "ols",
        residual_df=48,
        n_obs=50,
        method="ols",
        coefficients={"term": ["a"], "estimate": [1.5]},
        output=tmp_path,
    )
    meta = json.loads((tmp_path / "ols.meta.json").read_text())
    assert (meta["kind"], meta["residual_df"], meta["file"]) == ("model", 48, "ols.csv")
    assert _verdicts(tmp_path) == {"ols.csv": "pass", "ols.meta.json": "pass"}


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["a", "b", None]), st.integers(1, 6), st.integers(-50, 1000)),
        min_size=1,
        max_size=60,
    )
)
def test_a5_property_summarise_matches_reference(rows: list[tuple]) -> None:
    table = pa.table(
        {
            "g": pa.array([r[0] for r in rows], pa.string()),
            "person_seq": [r[1] for r in rows],
            "wage": [r[2] for r in rows],
        }
    )
    per: dict = defaultdict(lambda: defaultdict(int))
    for g, person, wage in rows:
        per[g][person] += wage
    expected = {}
    for g, people in per.items():
        ranked = [*sorted((abs(v) for v in people.values()), reverse=True), 0]
        expected[g] = (len(people), sum(people.values()), ranked[0], ranked[1])
    got = so.summarise(table, ["g"], value="wage").to_pydict()
    assert {
        g: (n, t, a, b)
        for g, n, t, a, b in zip(
            got["g"], got["n"], got["total"], got["top1"], got["top2"], strict=True
        )
    } == expected
    counts = so.summarise(table, ["g"]).to_pydict()
    assert dict(zip(counts["g"], counts["n"], strict=True)) == {
        g: v[0] for g, v in expected.items()
    }


SCRIPT = textwrap.dedent(
    """
    import sys
    import duckdb
    import sluis_output as so

    person = f"{so.data_dir()}/parquet/person.parquet"
    counts = duckdb.sql(
        f"SELECT region, sex, count(*) AS n FROM '{person}' GROUP BY ALL ORDER BY ALL"
    )
    so.table(counts, "persons_by_region_sex", count="n")
    wages = duckdb.sql(f'''
        SELECT region, count(*) AS n, sum(wage) AS total,
               max(abs(wage), 2)[1] AS top1, max(abs(wage), 2)[2] AS top2
        FROM '{person}' GROUP BY ALL ORDER BY ALL''')
    so.table(wages, "wages_by_region", kind="magnitude")
    leaked = sorted(m for m in sys.modules if m == "sluis" or m.startswith("sluis."))
    print("sluis modules:", leaked)
    """
)


def test_b11_documented_script_runs_without_sluis_and_its_outputs_pass(tmp_path: Path) -> None:
    """The example of docs/enclave.md as a researcher runs it: only the helper file on the
    path (no sluis), the data in SLUIS_DATA, the outputs in SLUIS_OUTPUT."""
    data = tmp_path / "data" / "parquet"
    data.mkdir(parents=True)
    n = 400
    pq.write_table(
        pa.table(
            {
                "person_seq": list(range(1, n + 1)),
                "region": [["BE1", "BE2", "BE3"][i % 3] for i in range(n)],
                "sex": [i % 2 + 1 for i in range(n)],
                "wage": [2000 + (i * 37) % 900 for i in range(n)],
            }
        ),
        data / "person.parquet",
    )
    (tmp_path / "job.py").write_text(SCRIPT)
    env = {
        "PATH": os.environ["PATH"],
        "SLUIS_DATA": str(tmp_path / "data"),
        "SLUIS_OUTPUT": str(tmp_path / "output"),
    }
    run = subprocess.run(
        [
            sys.executable,
            "-I",  # isolated: the helper's folder is all that is added to the path
            "-B",  # and no __pycache__ is left in the source tree
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); exec(open(sys.argv[2]).read())",
            str(RESEARCHER),
            str(tmp_path / "job.py"),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "sluis modules: []" in run.stdout
    verdicts = _verdicts(tmp_path / "output")
    assert set(verdicts.values()) == {"pass"} and len(verdicts) == 4


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R is installed by ./dev setup")
def test_a5_r_helper_writes_what_the_python_checks_read(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        source("{RESEARCHER / "sluis_output.R"}")
        d <- data.frame(region = c("a", "b", "c"), n = c(12L, 3L, 40L))
        sluis_table(d, "small")
        m <- data.frame(g = c("x", "y"), total = c(5000.5, 300), n = c(12, 15),
                        top1 = c(4000, 40), top2 = c(900, 30))
        sluis_table(m, "wages", kind = "magnitude")
        fit <- lm(dist ~ speed, data = cars[1:6, ])
        sluis_model("cars", residual_df = fit$df.residual, n_obs = 6L,
                    coefficients = data.frame(term = names(coef(fit)), est = coef(fit)))
        """
    )
    (tmp_path / "job.R").write_text(script)
    env = {**os.environ, "SLUIS_OUTPUT": str(tmp_path / "output")}
    run = subprocess.run(
        ["Rscript", str(tmp_path / "job.R")], env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    out = tmp_path / "output"
    assert (out / "wages.csv").read_text().splitlines()[0] == '"g","total","n"'
    files = sorted(out.iterdir())
    report = check_outputs(files, out, thresholds=Thresholds()).to_json()
    found = {o["file"]: {f["rule"] for f in o["findings"]} for o in report["outputs"]}
    assert found == {
        "cars.csv": {"min-residual-df"},
        "cars.meta.json": {"sidecar-of"},
        "small.csv": {"min-frequency"},
        "small.meta.json": {"sidecar-of"},
        "wages.csv": {"dominance", "p-percent"},
        "wages.meta.json": {"sidecar-of"},
    }
