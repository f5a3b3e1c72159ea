"""What treatment cost the research (G5): information loss per variable and key set, and the
decisions' own research quantities before and after treatment (sluis.scra.infoloss,
sluis.scra.research), on hand-made staged and treated extracts whose figures are known."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluis.engine import Engine
from sluis.errors import SluisError
from sluis.scra.infoloss import (
    for_recipient,
    infoloss_dict,
    infoloss_html,
    information_loss,
)
from sluis.scra.research import REGISTRY, quantity, research_problems
from sluis.spec import load_spec
from sluis.spec.load import check_document, read_document
from sluis.spec.rules import RULES

ROOT = Path(__file__).resolve().parents[1]
SPEC_25 = ROOT / "specs" / "25-074.yaml"
SPEC_26 = ROOT / "specs" / "26-050.yaml"


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with Engine(memory_limit="1GB", threads=1) as eng:
        yield eng


def _write(folder: Path, name: str, columns: dict[str, pa.Array | list]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), folder / f"{name}.parquet")


# -- a hand-made 25/074 extract ---------------------------------------------------------------
# persons: (seq, sample, first nationality, first registration, birth, last nationality)
PERSONS = [
    (1, "1", "10", "2005Q1", "1970Q1", "01"),
    (2, "1", "10", "2005Q3", "1971Q2", "10"),
    (3, "1", "10", "2005Q2", "1972Q3", "01"),
    (4, "1", "09", "2006Q1", "1973Q4", "01"),
    (5, "1", "09", "2006Q4", "1974Q1", "09"),
    (6, "2", "10", "2005Q1", "1975Q2", "01"),  # supplementary sample: not in the shares
    (7, "1", "01", "2006Q2", "1976Q3", "01"),  # Belgian from birth: not naturalised
]
# each person: two panel quarters, the year of arrival's Q4 and the next year's Q4
SEP = {1: ("111", "211"), 2: ("4", "121"), 3: ("111", "112"), 4: ("331", "4"), 5: ("212", "111")}
SEP |= {6: ("111", "111"), 7: ("4", "4")}
SIZES = [1, 2, 5, 6, 8, 3, 4, 7, 2, 1, 6, 5, 8, 2]  # household_size per panel row, top 8


def _extract_25(root: Path) -> tuple[Path, Path]:
    """Staged and treated 25/074 person and panel files. Treatment: birth_yq recoded to the
    year, person 3's first nationality suppressed; on the panel household_size recoded
    from top 8 to top 5, person 5's last nationality and person 1's first sep suppressed."""
    staged, treated = root / "staged", root / "treated"
    seq = [p[0] for p in PERSONS]
    person = {
        "person_seq": seq,
        "sample": [p[1] for p in PERSONS],
        "sex": ["1", "2"] * 3 + ["1"],
        "birth_yq": [p[4] for p in PERSONS],
        "first_nationality": [p[2] for p in PERSONS],
        "birth_country": ["10"] * 7,
        "first_registration_yq": [p[3] for p in PERSONS],
    }
    _write(staged, "person", person)
    person_t = dict(person)
    person_t["birth_yq"] = pa.array([int(p[4][:4]) for p in PERSONS], pa.int16())
    person_t["first_nationality"] = [None if p[0] == 3 else p[2] for p in PERSONS]
    _write(treated, "person", person_t)
    rows = [(p, int(reg[:4]) + i) for p, _, _, reg, _, _ in PERSONS for i in (0, 1)]
    last = {p[0]: p[5] for p in PERSONS}
    first = {p[0]: p[2] for p in PERSONS}
    panel = {
        "person_seq": [p for p, _ in rows],
        "quarter": [f"{y}Q4" for _, y in rows],
        "region": ["2"] * len(rows),
        "household_type": ["1"] * len(rows),
        "household_size": SIZES,
        "nationality": [first[p] if i % 2 == 0 else last[p] for i, (p, _) in enumerate(rows)],
        "sep": [SEP[p][i % 2] for i, (p, _) in enumerate(rows)],
    }
    _write(staged, "panel", panel)
    panel_t = dict(panel)
    panel_t["household_size"] = [min(s, 5) for s in SIZES]
    panel_t["nationality"] = [
        None if (p == 5 and i % 2 == 1) else n
        for i, ((p, _), n) in enumerate(zip(rows, panel["nationality"], strict=True))
    ]
    panel_t["sep"] = [None if i == 0 else s for i, s in enumerate(panel["sep"])]
    _write(treated, "panel", panel_t)
    return staged, treated


def _cells(path: Path, keys: list[str]) -> tuple[int, int]:
    """An independent recount: distinct key combinations (None a value) and records alone."""
    rows = pq.read_table(path, columns=keys).to_pylist()
    counts: dict[tuple, int] = {}
    for r in rows:
        cell = tuple(r[k] for k in keys)
        counts[cell] = counts.get(cell, 0) + 1
    return len(counts), sum(1 for n in counts.values() if n == 1)


def test_g5_information_loss_counts_and_quantities_on_a_known_extract(
    tmp_path: Path, engine: Engine
) -> None:
    spec = load_spec(SPEC_25)
    staged, treated = _extract_25(tmp_path)
    loss = information_loss(spec, staged, treated, engine=engine)
    by = {(v.dataset, v.variable): v for v in loss.variables}

    # suppressed: present before, empty after; recoded: written differently or merged
    assert (
        by["person", "first_nationality"].suppressed,
        by["person", "first_nationality"].recoded,
    ) == (1, 0)
    assert (by["person", "birth_yq"].recoded, by["person", "birth_yq"].suppressed) == (7, 0)
    assert by["person", "birth_yq"].categories_after == 7  # 7 distinct years
    # top 8 -> top 5: 6, 7 and 8 become 5, and the staged 5s now stand for 5-8 too
    assert by["panel", "household_size"].recoded == sum(1 for s in SIZES if s >= 5) == 7
    assert by["panel", "household_size"].categories_before == 8
    assert by["panel", "household_size"].categories_after == 5
    assert by["panel", "nationality"].suppressed == 1
    assert by["panel", "sep"].suppressed == 1
    assert by["panel", "sep"].suppressed_share == pytest.approx(1 / 14)
    assert by["person", "sex"].changed is False  # a key, shown although unchanged
    assert loss.unchanged["person"] == 2  # person_seq and sample (not keys)
    assert ("person", "sample") not in by

    # key sets: strict cells (null a category), the panel's within the quarter; recounted
    for ks in loss.key_sets:
        keys = list(ks.keys) + ([ks.period] if ks.period and ks.period not in ks.keys else [])
        assert (ks.cells_before, ks.alone_before) == _cells(staged / f"{ks.dataset}.parquet", keys)
        assert (ks.cells_after, ks.alone_after) == _cells(treated / f"{ks.dataset}.parquet", keys)
    person_ks = next(k for k in loss.key_sets if k.dataset == "person")
    assert (person_ks.cells_before, person_ks.cells_after, person_ks.rows) == (7, 7, 7)

    # naturalised share by arrival year and origin: persons 1-5 (general, not Belgian-born)
    natural = next(q for q in loss.quantities if q.id.endswith("share_by_arrival_and_origin"))
    got = {r.group: (r.before, r.after, r.units_before, r.units_after) for r in natural.rows}
    assert got[(2005, "10")] == pytest.approx((2 / 3, 1 / 2, 3, 2))  # person 3's origin gone
    assert got[(2006, "09")] == pytest.approx((1 / 2, 1.0, 2, 1))  # person 5's nationality gone
    assert set(got) == {(2005, "10"), (2006, "09")}
    assert natural.largest.group == (2006, "09")
    assert natural.largest.difference == pytest.approx(0.5)

    # employment rate by years since arrival: recounted from the test's own rows
    employment = next(q for q in loss.quantities if q.id.endswith("years_since_arrival"))
    general = [p[0] for p in PERSONS if p[1] == "1"]
    for years in (0, 1):
        before = [SEP[p][years][0] == "1" for p in general]
        after = [SEP[p][years][0] == "1" for p in general if not (p == 1 and years == 0)]
        row = next(r for r in employment.rows if r.group == (years,))
        assert row.before == pytest.approx(sum(before) / len(before))
        assert row.after == pytest.approx(sum(after) / len(after))
        assert (row.units_before, row.units_after) == (len(before), len(after))


def test_g5_information_loss_html_and_json(tmp_path: Path, engine: Engine) -> None:
    spec = load_spec(SPEC_25)
    staged, treated = _extract_25(tmp_path)
    loss = information_loss(spec, staged, treated, engine=engine)
    html = infoloss_html(loss)
    assert html.startswith("<h2>What treatment cost the research</h2>") or (
        "<h2>What treatment cost the research</h2>" in html
    )
    assert html.count("<svg") == 2 + len(loss.quantities)  # shares, cells, one per quantity
    assert "<table>" in html and "household_size" in html and "first_nationality" in html
    assert "Share naturalised by arrival year and origin class" in html
    assert "left out of the denominator" in html
    assert not re.search(r"(src|href)=\"(https?:|//)", html)  # no external assets
    assert "&amp;" not in html  # escaped once
    data = infoloss_dict(loss)
    json.dumps(data)  # plain JSON for scra.json
    natural = next(q for q in data["research"] if q["id"].endswith("by_arrival_and_origin"))
    assert natural["largest_difference"]["group"] == [2006, "09"]
    assert {v["variable"] for v in data["variables"]} >= {"birth_yq", "household_size", "sep"}
    # deterministic: the same input gives the same section
    assert infoloss_html(information_loss(spec, staged, treated, engine=engine)) == html


def test_g5_recipient_version_withholds_small_groups_before_treatment(
    tmp_path: Path, engine: Engine
) -> None:
    """Beside the delivered data, a group's figure before treatment from fewer than
    min_units units (or losing fewer than min_units) would give back what was suppressed."""
    spec = load_spec(SPEC_25)
    staged, treated = _extract_25(tmp_path)
    loss = information_loss(spec, staged, treated, engine=engine)
    view = for_recipient(loss, min_units=2)
    natural = next(q for q in view.quantities if q.id.endswith("by_arrival_and_origin"))
    # (2005, '10') and (2006, '09') each lost one person: withheld, after figures kept
    assert natural.withheld == 2
    assert all(r.before is None and r.units_before is None for r in natural.rows)
    assert [r.after for r in natural.rows] == pytest.approx([0.5, 1.0])
    assert natural.largest is None
    employment = next(q for q in view.quantities if q.id.endswith("years_since_arrival"))
    kept = {r.group: r.before for r in employment.rows}
    assert kept[(1,)] is not None and kept[(0,)] is None  # year 0 lost one quarter
    assert "withheld" in infoloss_html(view)


def test_g5_an_untreated_extract_costs_nothing(tmp_path: Path, engine: Engine) -> None:
    """Treated = staged: nothing suppressed or recoded, the same cells, every quantity
    unchanged, and the section says so rather than naming a "largest" difference."""
    spec = load_spec(SPEC_25)
    staged, _ = _extract_25(tmp_path)
    loss = information_loss(spec, staged, staged, engine=engine)
    assert loss.variables and not any(v.changed for v in loss.variables)
    assert all(k.cells_before == k.cells_after for k in loss.key_sets)
    assert all(r.difference == 0 for q in loss.quantities for r in q.rows)
    html = infoloss_html(loss)
    assert "Treatment changed no value." in html and "Largest difference" not in html
    assert html.count("No group's value changed") == len(loss.quantities) == 2
    assert html.count("<svg") == 1 + len(loss.quantities)  # no share chart


def test_g5_information_loss_refuses_files_that_are_not_before_and_after(
    tmp_path: Path, engine: Engine
) -> None:
    spec = load_spec(SPEC_25)
    staged, treated = _extract_25(tmp_path)
    person = pq.read_table(staged / "person.parquet")
    pq.write_table(person.slice(0, 6), treated / "person.parquet")
    with pytest.raises(SluisError) as err:
        information_loss(spec, staged, treated, engine=engine)
    assert err.value.rule == "infoloss-rows"
    pq.write_table(person.drop_columns(["sex"]), treated / "person.parquet")
    with pytest.raises(SluisError) as err:
        information_loss(spec, staged, treated, engine=engine)
    assert (err.value.rule, err.value.column) == ("infoloss-columns", "sex")
    # a value missing before and present after: treatment never fills a value
    filled = person.set_column(1, "sample", pa.array(["1"] * 7))
    pq.write_table(
        person.set_column(1, "sample", pa.array([None] * 7, pa.string())), staged / "person.parquet"
    )
    pq.write_table(filled, treated / "person.parquet")
    with pytest.raises(SluisError) as err:
        information_loss(spec, staged, treated, engine=engine)
    assert (err.value.rule, err.value.column) == ("infoloss-finer", "sample")
    # a quantity that cannot be computed names itself and the columns it reads
    demobel = {"person_seq": [1, 2], "year": [2016, 2016], "cohort": ["2016", "2016"]}
    _write(tmp_path / "s26", "demobel", demobel)
    _write(tmp_path / "t26", "demobel", demobel)
    ksz = {"person_seq": [1, 2], "quarter": ["2016Q4", "2016Q4"], "sep": ["111", "4"]}
    _write(tmp_path / "s26", "ksz", ksz)
    _write(tmp_path / "t26", "ksz", ksz)
    spec26 = load_spec(SPEC_26)
    with pytest.raises(SluisError) as err:
        information_loss(
            spec26.model_copy(update={"scra": spec26.scra.model_copy(update={"key_sets": []})}),
            tmp_path / "s26",
            tmp_path / "t26",
            engine=engine,
        )
    assert err.value.rule == "infoloss-quantity" and "demobel.cohort_member" in err.value.hint
    (treated / "panel.parquet").unlink()
    with pytest.raises(SluisError) as err:
        information_loss(spec, staged, treated, engine=engine)
    assert err.value.rule == "infoloss-treated-missing"


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.booleans()), min_size=1, max_size=40),
    st.integers(2, 5),
)
def test_g5_suppressed_and_recoded_match_a_recount(
    engine: Engine, values: list[tuple[int, bool]], width: int
) -> None:
    """Any column, any suppression mask, any merge of classes (value // width): the counts
    are those of a plain recount over the rows."""
    spec = load_spec(SPEC_25)
    before = [v for v, _ in values]
    after = [None if drop else (v // width) * width for v, drop in values]
    with tempfile.TemporaryDirectory() as tmp:
        staged, treated = Path(tmp) / "s", Path(tmp) / "t"
        _write(staged, "person", {"person_seq": list(range(len(values))), "sex": before})
        _write(treated, "person", {"person_seq": list(range(len(values))), "sex": after})
        loss = information_loss(
            spec.model_copy(update={"scra": None}), staged, treated, engine=engine
        )
    sex = next(v for v in loss.variables if v.variable == "sex") if loss.variables else None
    kept = [(b, a) for b, a in zip(before, after, strict=True) if a is not None]
    merged = {a for a in {a for _, a in kept} if len({b for b, x in kept if x == a}) > 1}
    recoded = sum(1 for b, a in kept if b != a or a in merged)
    suppressed = sum(1 for _, drop in values if drop)
    if sex is None:
        assert recoded == suppressed == 0
    else:
        assert (sex.suppressed, sex.recoded) == (suppressed, recoded)
        assert sex.categories_before == len(set(before))
        assert sex.categories_after == len({a for a in after if a is not None})


# -- the registry and the spec rule ---------------------------------------------------------


def test_g5_both_specs_name_their_research_quantities() -> None:
    assert load_spec(SPEC_25).scra.research == [
        "naturalisation.share_by_arrival_and_origin",
        "naturalisation.employment_by_years_since_arrival",
    ]
    assert load_spec(SPEC_26).scra.research == ["activation.working_one_year_later"]
    for id_ in REGISTRY:
        q = quantity(id_)
        assert q.id == id_ and q.groups and q.needs and "denominator" in q.description
    with pytest.raises(SluisError) as err:
        quantity("nope.nothing")
    assert err.value.rule == "unknown-research-quantity"


def _problems(text: str) -> list:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(text)
        from sluis.spec import SpecError

        try:
            return check_document(read_document(path))[1]
        except SpecError as err:
            return err.problems


ENTRY_26 = "research: [activation.working_one_year_later]"


@settings(max_examples=20, deadline=None)
@given(
    st.from_regex(r"[a-z]{1,10}\.[a-z_]{1,24}", fullmatch=True) | st.sampled_from(list(REGISTRY))
)
def test_g5_spec_rule_unknown_research_quantity(id_: str) -> None:
    """An id the registry does not have, or one reading variables 26/050 does not deliver
    (25/074's quantities), is refused at its line; 26/050's own is accepted."""
    text = SPEC_26.read_text()
    assert ENTRY_26 in text
    changed = text.replace(ENTRY_26, f"research: [{id_}]")
    found = [(p.rule, p.line) for p in _problems(changed)]
    line = changed[: changed.index(f"research: [{id_}]")].count("\n") + 1
    refused = id_ not in REGISTRY or bool(research_problems([id_], _variables_26())[0])
    assert (("unknown-research-quantity", line) in found) == refused
    assert refused == (id_ != "activation.working_one_year_later")
    assert "unknown-research-quantity" in RULES


def _variables_26() -> dict[str, list[str]]:
    spec = load_spec(SPEC_26)
    return {name: spec.variable_names(name) for name in spec.datasets}
