"""The enclave's automatic output checks (A5, B11; G10 for the record they leave in
checks.json): a corpus of disclosive outputs, each refused or sent to review with the right
rule, safe outputs that pass, and property tests of the table rules against a plain
reference implementation written here, cell by cell in Python."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import pickle
import re
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entry_point import sluis
from sluis.enclave.checks import Thresholds, check_outputs, public_sidecar
from sluis.enclave.checks.differencing import compare
from sluis.enclave.checks.tables import (
    CellTable,
    class_disclosure,
    dominance,
    min_frequency,
    p_percent,
)

RESEARCHER = Path(__file__).parents[1] / "src/sluis/enclave/researcher/sluis_output.py"
SPEC_25074 = Path(__file__).parents[1] / "specs/25-074.yaml"
T = Thresholds()  # min frequency 10, dominance (2, 85%), p 10%, residual df 10


def _load_helper() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sluis_output", RESEARCHER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


so = _load_helper()


def check(root: Path, released: Path | None = None, data: Path | None = None) -> dict:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    report = check_outputs(files, root, thresholds=T, released=released, data=data)
    return report.to_json()


def output(report: dict, name: str) -> dict:
    return next(o for o in report["outputs"] if o["file"] == name)


def rules(report: dict, name: str) -> dict[str, str]:
    return {f["rule"]: f["verdict"] for f in output(report, name)["findings"]}


def by_region(counts: list[int], name: str, out: Path, **kw: object) -> Path:
    regions = [f"r{i}" for i in range(len(counts))]
    return so.table({"region": regions, "n": counts}, name, output=out, **kw)


# ---------------------------------------------------------------- the disclosive corpus


def test_a5_count_of_3_fails_min_frequency(tmp_path: Path) -> None:
    by_region([25, 3, 40], "persons", tmp_path)
    report = check(tmp_path)
    found = output(report, "persons.csv")["findings"]
    assert [(f["rule"], f["verdict"], f["cells"]) for f in found] == [
        ("min-frequency", "fail", [[2, "n"]])
    ]
    assert output(report, "persons.meta.json")["verdict"] == "fail"  # shares its table's
    assert report["verdict"] == "fail"


def test_a5_dominated_magnitude_cell_fails_dominance(tmp_path: Path) -> None:
    so.table(
        {
            "region": ["a", "b"],
            "total": [10_000, 5_000],
            "n": [20, 30],
            "top1": [8_000, 400],
            "top2": [900, 350],
        },
        "wages",
        kind="magnitude",
        output=tmp_path,
    )
    found = rules(check(tmp_path), "wages.csv")
    assert found["dominance"] == "fail"
    cells = next(
        f["cells"]
        for f in output(check(tmp_path), "wages.csv")["findings"]
        if f["rule"] == "dominance"
    )
    assert cells == [[1, "total"]]
    # the top contributions stay out of the CSV and out of a release's sidecar
    assert (tmp_path / "wages.csv").read_text().splitlines()[0] == "region,total,n"
    public = json.loads(public_sidecar(tmp_path / "wages.meta.json"))
    assert "top1" not in public["cells"] and public["cells"]["contributors"] == [20, 30]


def test_a5_p_percent_fails_when_the_rest_is_small(tmp_path: Path) -> None:
    """With 25/074's thresholds the (2, 85%) rule is the stricter one; with (2, 99%) and
    p = 20%, a cell whose two largest make 90% passes dominance and fails p%: the rest
    (500) is under 20% of the largest (3000)."""
    so.table(
        {
            "g": ["x", "y"],
            "total": [5000, 5000],
            "n": [12, 15],
            "top1": [3000, 1000],
            "top2": [1500, 900],
        },
        "p",
        kind="magnitude",
        output=tmp_path,
    )
    loose = Thresholds(dominance_share=0.99, p_percent=0.2)
    files = [tmp_path / "p.csv", tmp_path / "p.meta.json"]
    report = check_outputs(files, tmp_path, thresholds=loose).to_json()
    assert [(f["rule"], f["cells"]) for f in output(report, "p.csv")["findings"]] == [
        ("p-percent", [[1, "total"]])
    ]
    # 25/074's thresholds: the same cell fails dominance (90% > 85%), p% at 10% holds
    assert rules(check(tmp_path), "p.csv") == {"dominance": "fail"}


def test_a5_zero_row_fails_class_disclosure(tmp_path: Path) -> None:
    # everyone of region b is employed: a row of zeros but one cell
    so.table(
        {
            "region": ["a", "a", "b", "b", "c", "c"],
            "employed": ["yes", "no", "yes", "no", "yes", "no"],
            "n": [30, 12, 44, 0, 25, 15],
        },
        "employment",
        output=tmp_path,
    )
    found = output(check(tmp_path), "employment.csv")["findings"]
    assert [(f["rule"], f["verdict"], f["cells"]) for f in found] == [
        ("class-disclosure", "fail", [[3, "n"]])
    ]


def test_a5_class_disclosure_sees_cells_a_group_by_left_out(tmp_path: Path) -> None:
    """A GROUP BY writes no empty cells: (b, no) is absent, which is a zero all the same."""
    so.table(
        {"region": ["a", "a", "b"], "employed": ["yes", "no", "yes"], "n": [30, 12, 44]},
        "employment",
        output=tmp_path,
    )
    assert rules(check(tmp_path), "employment.csv") == {"class-disclosure": "fail"}


def test_a5_regression_with_4_residual_df_fails(tmp_path: Path) -> None:
    so.model("wage_ols", residual_df=4, n_obs=10, n_params=6, output=tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "summary.txt").write_text(
        "Coefficients:\n(Intercept)  1.20  0.30\n\n"
        "Residual standard error: 0.8 on 4 degrees of freedom\n"
    )
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "statsmodels.txt").write_text("Df Residuals:   4\nDf Model:  5\n")
    report = check(tmp_path)
    assert rules(report, "a/wage_ols.meta.json") == {"min-residual-df": "fail"}
    assert rules(report, "b/summary.txt") == {"min-residual-df": "fail"}
    assert output(report, "b/summary.txt")["findings"][0]["cells"] == [[4, None]]
    assert rules(report, "c/statsmodels.txt") == {"min-residual-df": "fail"}


def _release(releases: Path, rid: str, counts: list[int], **kw: object) -> None:
    by_region(counts, "persons", releases / rid / "outputs", **kw)


def test_a5_two_released_tables_differing_by_one_person_fail_differencing(
    tmp_path: Path,
) -> None:
    releases, new = tmp_path / "releases", tmp_path / "new"
    _release(releases, "r0001", [25, 31, 40])
    by_region([25, 32, 40], "persons_again", new)  # one more person in r1
    report = check(new, released=releases)
    found = output(report, "persons_again.csv")["findings"]
    assert [(f["rule"], f["verdict"], f["cells"]) for f in found] == [
        ("differencing", "fail", [[2, "n"]])
    ]
    assert "r0001/outputs/persons.csv" in found[0]["message"]


def test_a5_a_total_off_by_a_few_from_a_released_total_fails(tmp_path: Path) -> None:
    releases, new = tmp_path / "releases", tmp_path / "new"
    _release(releases, "r0001", [25, 31, 40])  # 96 persons
    # another breakdown of 96 + 3 persons: only the totals can be compared
    so.table({"sex": ["f", "m"], "n": [50, 49]}, "by_sex", output=new)
    assert rules(check(new, released=releases), "by_sex.csv") == {"differencing": "fail"}
    so.table({"sex": ["f", "m"], "n": [50, 46]}, "by_sex", output=new)  # 96 again: fine
    assert check(new, released=releases)["verdict"] == "pass"


def test_a5_differencing_between_two_new_tables_of_one_job(tmp_path: Path) -> None:
    by_region([25, 31, 40], "all", tmp_path)
    by_region([25, 29, 40], "without_two", tmp_path)
    report = check(tmp_path)
    assert rules(report, "without_two.csv") == {"differencing": "fail"}
    assert rules(report, "all.csv") == {}


def test_a5_differencing_moves_and_named_populations_go_to_review(tmp_path: Path) -> None:
    releases, new = tmp_path / "releases", tmp_path / "new"
    _release(releases, "r0001", [25, 31, 40], population="arrived 2000-2012")
    by_region([26, 30, 40], "moved", new / "a")  # one person moved from r1 to r0
    assert rules(check(new / "a", released=releases), "moved.csv") == {"differencing": "review"}
    by_region([25, 33, 40], "other", new / "b", population="arrived 2001-2012")
    assert rules(check(new / "b", released=releases), "other.csv") == {"differencing": "review"}
    by_region([25, 31, 40], "same", new / "c")  # the released table again: nothing new
    assert rules(check(new / "c", released=releases), "same.csv") == {}


def test_b11_csv_of_sequence_numbers_fails(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "ids.csv").write_text(
        "person_seq,birth_year\n" + "".join(f"{i},1980\n" for i in range(1, 30))
    )
    assert rules(check(out), "ids.csv")["sequence-numbers"] == "fail"


def test_b11_sequence_numbers_under_another_name_are_found_in_the_data(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    (data / "parquet").mkdir(parents=True)
    seqs = np.arange(1, 2001)
    pq.write_table(
        pa.table({"person_seq": seqs, "region": ["a"] * 2000}),
        data / "parquet" / "person.parquet",
    )
    out = tmp_path / "out"
    out.mkdir()
    picked = np.random.default_rng(1).choice(seqs, 150, replace=False)
    (out / "who.csv").write_text("id,birth_year\n" + "".join(f"{s},1980\n" for s in picked))
    # a table by a sparse code (a municipality's) whose cells are guarded by the rules
    codes = sorted(np.random.default_rng(2).choice(seqs, 40, replace=False))
    (out / "by_code.csv").write_text("code,n\n" + "".join(f"{c},12\n" for c in codes))
    (out / "rownumbers.csv").write_text("line,n\n" + "".join(f"{i},12\n" for i in range(1, 251)))
    report = check(out, data=data)
    assert rules(report, "who.csv")["sequence-numbers"] == "fail"
    assert "sequence-numbers" not in rules(report, "rownumbers.csv")
    assert rules(report, "by_code.csv") == {}
    # sequence numbers repeated per record (a person-quarter listing): a reviewer looks
    repeated = np.repeat(picked[:40], 4)
    (out / "quarters.csv").write_text("who,x\n" + "".join(f"{s},1\n" for s in repeated))
    assert rules(check(out, data=data), "quarters.csv") == {
        "sequence-numbers": "review",
        "no-sidecar": "review",
    }
    (out / "quarters.csv").unlink()
    # 250 rows for 2000 persons is a long table: a reviewer looks
    assert rules(report, "rownumbers.csv") == {"row-level": "review"}
    for name in ("who.csv", "rownumbers.csv", "by_code.csv"):
        (out / name).unlink()
    (out / "long.csv").write_text("g,n\n" + "".join(f"g{i},12\n" for i in range(1200)))
    assert rules(check(out, data=data), "long.csv") == {"row-level": "fail"}


def test_b11_log_that_prints_rows_fails(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    rows = "".join(f"{i:>4} {1960 + i % 30} {i % 2} BE{i % 3}\n" for i in range(12))
    (tmp_path / "logs" / "stdout.txt").write_text(
        "reading data\n     person_seq  birth_year  sex region\n" + rows + "done\n"
    )
    found = output(check(tmp_path), "logs/stdout.txt")["findings"]
    assert [(f["rule"], f["verdict"]) for f in found] == [("printed-rows", "fail")]
    assert found[0]["cells"][0] == [3, None]
    # the same lines without sequence numbers: a printed table a reviewer reads
    (tmp_path / "logs" / "stdout.txt").write_text("region n\n" + rows)
    assert rules(check(tmp_path), "logs/stdout.txt") == {"printed-table": "review"}


def test_b11_exact_date_fails_in_a_table_and_in_a_log(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("arrival,n\n2012Q1,30\n2012-03-04,25\n")
    (tmp_path / "log.txt").write_text("started\nrun on 07/12/2026 by an\n")
    report = check(tmp_path)
    date = next(f for f in output(report, "t.csv")["findings"] if f["rule"] == "exact-date")
    assert (date["verdict"], date["cells"]) == ("fail", [[2, "arrival"]])
    assert output(report, "log.txt")["findings"][0]["cells"] == [[2, None]]


def test_a5_file_type_policy(tmp_path: Path) -> None:
    pq.write_table(pa.table({"x": [1]}), tmp_path / "rows.parquet")
    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"a": 1}))
    (tmp_path / "plot.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02")
    (tmp_path / "notes.xyz").write_text("the model converged\n")
    (tmp_path / "empty.log").write_text("")
    (tmp_path / "empty.csv").write_text("")
    report = check(tmp_path)
    assert rules(report, "rows.parquet") == {"file-type": "fail"}
    assert rules(report, "model.pkl") == {"file-type": "fail"}
    assert rules(report, "plot.png") == {"file-type": "review"}
    assert rules(report, "blob.bin") == {"file-type": "fail"}
    assert rules(report, "notes.xyz") == {"file-type": "review"}
    assert output(report, "empty.log")["verdict"] == "pass"
    assert output(report, "empty.csv")["verdict"] == "pass"


# ---------------------------------------------------------------- files without a sidecar


def test_b11_csv_without_sidecar_counts_by_name_else_review(tmp_path: Path) -> None:
    (tmp_path / "counts.csv").write_text(
        "year,region,aantal\n2012,a,30\n2012,b,4\n2013,a,30\n2013,b,12\n"
    )
    (tmp_path / "means.csv").write_text("region,mean_wage\na,2450.5\nb,2810.0\n")
    (tmp_path / "ints.csv").write_text("region,x\na,30\nb,31\n")
    report = check(tmp_path)
    found = output(report, "counts.csv")["findings"]
    assert [(f["rule"], f["cells"]) for f in found] == [("min-frequency", [[2, "aantal"]])]
    assert rules(report, "means.csv") == {"no-sidecar": "review"}
    assert rules(report, "ints.csv") == {"no-sidecar": "review"}


def test_a5_edited_csv_loses_its_sidecar(tmp_path: Path) -> None:
    path = by_region([25, 31, 40], "persons", tmp_path)
    path.write_text(path.read_text().replace("31", "3"))
    found = rules(check(tmp_path), "persons.csv")
    assert found == {"sidecar-mismatch": "review", "min-frequency": "fail"}


# ---------------------------------------------------------------- safe outputs pass


def test_a5_safe_outputs_pass(tmp_path: Path) -> None:
    by_region([25, 31, 40], "persons", tmp_path)
    so.table(
        {
            "region": ["a", "b"],
            "total": [10_000, 5_000],
            "n": [20, 30],
            "top1": [2_000, 400],
            "top2": [1_500, 350],
        },
        "wages",
        kind="magnitude",
        output=tmp_path,
    )
    so.model(
        "wage_ols",
        residual_df=1_200,
        coefficients={"term": ["(Intercept)", "age"], "estimate": [1.2, 0.03]},
        output=tmp_path,
    )
    (tmp_path / "stdout.txt").write_text(
        "fitted 3 models\nResidual deviance: 812 on 1200 degrees of freedom\n"
    )
    (tmp_path / "stderr.txt").write_text("")
    report = check(tmp_path)
    assert report["verdict"] == "pass", [o for o in report["outputs"] if o["findings"]]
    assert len(report["outputs"]) == 8
    assert set(report) == {"verdict", "thresholds", "outputs"}
    assert set(report["outputs"][0]) == {"file", "kind", "sha256", "verdict", "findings"}
    first = tmp_path / report["outputs"][0]["file"]
    assert report["outputs"][0]["sha256"] == hashlib.sha256(first.read_bytes()).hexdigest()


# ---------------------------------------------------------------- the command line


def test_b11_sluis_enclave_check_exit_codes_and_json(tmp_path: Path) -> None:
    safe, bad, review = tmp_path / "safe", tmp_path / "bad", tmp_path / "review"
    by_region([25, 31, 40], "persons", safe)
    by_region([25, 3, 40], "persons", bad)
    review.mkdir()
    (review / "plot.png").write_bytes(b"\x89PNG\r\n")
    spec = str(SPEC_25074)
    ok = sluis("enclave", "check", str(safe), "--spec", spec)
    assert ok.returncode == 0, ok.stderr
    assert "pass: 2 pass, 0 to review, 0 fail" in ok.stdout
    failed = sluis("enclave", "check", str(bad), "--spec", spec)
    assert failed.returncode == 1
    assert "persons.csv: min-frequency: fail" in failed.stdout
    assert sluis("enclave", "check", str(review), "--spec", spec).returncode == 4
    as_json = sluis("enclave", "check", str(bad / "persons.csv"), "--spec", spec, "--json")
    assert json.loads(as_json.stdout)["outputs"][0]["findings"][0]["cells"] == [[2, "n"]]
    releases = tmp_path / "releases"
    _release(releases, "r0001", [25, 30, 40])
    differ = sluis("enclave", "check", str(safe), "--spec", spec, "--released", str(releases))
    assert differ.returncode == 1
    assert "persons.csv: differencing: fail: compared with r0001/outputs/persons.csv" in (
        " ".join(differ.stdout.split())
    )
    missing = sluis("enclave", "check", str(tmp_path / "nope"), "--spec", spec)
    assert missing.returncode == 2 and "check-usage" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_b11_check_without_enclave_section_uses_defaults(tmp_path: Path) -> None:
    by_region([25, 9, 40], "persons", tmp_path)
    spec = Path(__file__).parents[1] / "specs/26-050.yaml"
    result = sluis("enclave", "check", str(tmp_path), "--spec", str(spec))
    assert result.returncode == 1
    assert "defaults" in result.stdout and "min frequency 10" in result.stdout


# ---------------------------------------------------------------- properties


def _reference_rules(rows: dict[tuple[str, str], int], k: int) -> tuple[set, set]:
    """Small cells and class-disclosure cells, the plain way: complete the table over the
    categories seen, then walk every row and every column."""
    a_values = sorted({a for a, _ in rows})
    b_values = sorted({b for _, b in rows})
    full = {(a, b): rows.get((a, b), 0) for a in a_values for b in b_values}
    small = {c for c, n in rows.items() if 0 < n < k}
    disclosing: set[tuple[str, str]] = set()
    for line_values, other_values, make in (
        (a_values, b_values, lambda a, b: (a, b)),
        (b_values, a_values, lambda b, a: (a, b)),
    ):
        if len(other_values) < 2:
            continue
        for fixed in line_values:
            cells = [make(fixed, v) for v in other_values]
            filled = [c for c in cells if full[c] > 0]
            if len(filled) == 1 and filled[0] in rows:
                disclosing.add(filled[0])
    return small, disclosing


count_tables = st.dictionaries(
    st.tuples(st.sampled_from("abcd"), st.sampled_from("xyz")),
    st.integers(0, 30),
    min_size=1,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=count_tables, k=st.integers(2, 15))
def test_a5_property_count_rules_match_reference(rows: dict, k: int) -> None:
    cells = list(rows)
    table = CellTable(
        name="t.csv",
        kind="count",
        dimensions=["a", "b"],
        keys={
            "a": np.array([a for a, _ in cells], dtype=str),
            "b": np.array([b for _, b in cells], dtype=str),
        },
        count=np.array([rows[c] for c in cells], dtype=float),
    )
    small, disclosing = _reference_rules(rows, k)
    found = {f.rule: {tuple(cells[r - 1]) for r, _ in f.cells} for f in min_frequency(table, k)}
    assert found.get("min-frequency", set()) == small
    found = {f.rule: {tuple(cells[r - 1]) for r, _ in f.cells} for f in class_disclosure(table)}
    assert found.get("class-disclosure", set()) == disclosing


magnitude_cells = st.lists(
    st.lists(st.integers(0, 10_000), min_size=1, max_size=8), min_size=1, max_size=20
)


@settings(max_examples=200, deadline=None)
@given(
    contributions=magnitude_cells,
    share=st.floats(0.5, 0.99),
    p=st.floats(0.01, 0.5),
)
def test_a5_property_dominance_and_p_percent_match_reference(
    contributions: list[list[int]], share: float, p: float
) -> None:
    ranked = [[*sorted(c, reverse=True), 0] for c in contributions]
    table = CellTable(
        name="m.csv",
        kind="magnitude",
        dimensions=["g"],
        keys={"g": np.array([str(i) for i in range(len(contributions))])},
        contributors=np.array([len(c) for c in contributions], dtype=float),
        total=np.array([sum(c) for c in contributions], dtype=float),
        top1=np.array([r[0] for r in ranked], dtype=float),
        top2=np.array([r[1] for r in ranked], dtype=float),
        column="total",
    )
    dominated = {
        i + 1
        for i, c in enumerate(contributions)
        if sum(c) > 0 and ranked[i][0] + ranked[i][1] > share * sum(c)
    }
    weak = {
        i + 1
        for i, c in enumerate(contributions)
        if ranked[i][0] > 0 and sum(c) - ranked[i][0] - ranked[i][1] < p * ranked[i][0]
    }
    got = {f.rule: {r for r, _ in f.cells} for f in dominance(table, 2, share)}
    assert got.get("dominance", set()) == dominated
    got = {f.rule: {r for r, _ in f.cells} for f in p_percent(table, p)}
    assert got.get("p-percent", set()) == weak


@settings(max_examples=200, deadline=None)
@given(old=count_tables, new=count_tables, k=st.integers(2, 15), shared=st.booleans())
def test_a5_property_differencing_matches_reference(
    old: dict, new: dict, k: int, shared: bool
) -> None:
    """Margins over the shared dimension ``a`` (or the totals), compared the plain way."""

    def table(rows: dict, dims: list[str]) -> CellTable:
        cells = list(rows)
        keys = {"a": np.array([a for a, _ in cells], dtype=str)}
        keys["b" if "b" in dims else "c"] = np.array([b for _, b in cells], dtype=str)
        return CellTable(
            name="t",
            kind="count",
            dimensions=dims,
            keys=keys,
            count=np.array([rows[c] for c in cells], dtype=float),
        )

    new_t = table(new, ["a", "b"])
    old_t = table(old, ["a", "c"] if shared else ["c"])
    margin: dict[str, int] = defaultdict(int)
    for (a, _), n in new.items():
        margin[a if shared else ""] += n
    for (a, _), n in old.items():
        margin[a if shared else ""] -= n
    spread = sum(abs(v) for v in margin.values())
    one_sign = all(v >= 0 for v in margin.values()) or all(v <= 0 for v in margin.values())
    expected = None if spread == 0 or spread >= k else ("fail" if one_sign else "review")
    found = compare(new_t, old_t, k)
    assert (found[0].verdict if found else None) == expected
    if found:
        flagged = {r for r, _ in found[0].cells}
        cells = list(new)
        assert flagged == {
            i + 1 for i, (a, _) in enumerate(cells) if margin[a if shared else ""] != 0
        }


# ---------------------------------------------------------------- the documentation


def test_a5_docs_name_every_rule_and_file_type() -> None:
    """docs/enclave.md lists every rule id the checks can give and every suffix of the
    file policy: a new rule or suffix without its line in the docs fails here."""
    from sluis.enclave.checks.policy import SUFFIXES

    root = Path(__file__).parents[1]
    docs = (root / "docs/enclave.md").read_text()
    source = "\n".join(p.read_text() for p in (root / "src/sluis/enclave/checks").glob("*.py"))
    found = set(re.findall(r'Finding\(\s*"([a-z-]+)"', source))
    assert {"min-frequency", "differencing", "sequence-numbers"} <= found
    assert [r for r in sorted(found) if f"`{r}`" not in docs] == []
    assert [s for s in SUFFIXES if f"`{s}`" not in docs.lower()] == []
