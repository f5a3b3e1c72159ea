"""The spec language (G1): the shipped specs, every rule at its exact position, the
data-minimisation check, and property tests that no input makes loading crash."""

from __future__ import annotations

import tempfile
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from typer.testing import CliRunner

from sluis.cli.app import app
from sluis.extract.derivations.requirements import ITEMS as DERIVATIONS
from sluis.spec import MinimisationError, SpecError, load_spec, require_named
from sluis.spec.load import check_document, read_document
from sluis.spec.rules import RULES

ROOT = Path(__file__).resolve().parents[1]
SPEC_25 = ROOT / "specs" / "25-074.yaml"
SPEC_26 = ROOT / "specs" / "26-050.yaml"
TEXT = {"25": SPEC_25.read_text(), "26": SPEC_26.read_text()}


def _problems(text: str, tmp_path: Path) -> list:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    try:
        return check_document(read_document(path))[1]
    except SpecError as err:
        return err.problems


def _at(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of a character index."""
    return text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)


# -- the shipped specs ------------------------------------------------------------------


@pytest.mark.parametrize("path", [SPEC_25, SPEC_26], ids=["25-074", "26-050"])
def test_g1_shipped_specs_pass_spec_check(path: Path) -> None:
    result = CliRunner().invoke(app, ["spec", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert load_spec(path).decision.id in ("25/074", "26/050")


@pytest.mark.parametrize(
    ("path", "requirements"),
    [
        (SPEC_25, ("A6", "A7", "A8", "A9", "A10", "A11", "A12", "A13")),
        (SPEC_26, ("B3", "B4", "B5", "B6", "B7", "B8", "B9")),
    ],
    ids=["25-074", "26-050"],
)
def test_g1_every_variable_of_the_requirements_is_in_the_spec(
    path: Path, requirements: tuple[str, ...]
) -> None:
    spec = load_spec(path)
    covered = {item for ds in spec.datasets.values() for v in ds.variables for item in v.covers}
    wanted = {
        f"{d.requirement}: {d.variable}" for d in DERIVATIONS if d.requirement in requirements
    }
    assert {r for r in requirements if any(w.startswith(r + ":") for w in wanted)} == set(
        requirements
    )
    assert sorted(wanted - covered) == []


def test_g4_shipped_specs_coarsen_as_the_decisions_prescribe() -> None:
    """Dates y+q (y+m only where the decision says so), amounts at least EUR 150, NACE two
    digits, places as region, countries in at most fifteen classes."""
    for path in (SPEC_25, SPEC_26):
        spec = load_spec(path)
        for ds in spec.datasets.values():
            for v in ds.variables:
                rule = v.coarsen
                if rule.kind == "date":
                    allowed = {"year_quarter", "year"} | (
                        {"year_month"} if any("(y+m)" in c for c in v.covers) else set()
                    )
                    assert rule.precision in allowed, v.name
                if rule.kind == "amount":
                    assert (rule.width or 0) >= 150, v.name
                if rule.kind == "nace":
                    assert rule.digits <= 2
                if rule.kind == "place":
                    assert rule.level == "region"
                if rule.kind == "country":
                    assert rule.classes != "country_code"


def test_a14_b10_retention_deadlines_are_the_decisions() -> None:
    assert str(load_spec(SPEC_25).retention.deadline) == "2029-10-31"
    assert str(load_spec(SPEC_26).retention.deadline) == "2033-11-30"


# -- every rule at its exact position --------------------------------------------------

PSEUDONYM = "coarsen: {kind: pseudonym, domain: person}"
BIRTH = "source: [person.birth_date]\n        coarsen: {kind: date, precision: year_quarter}"
BIRTH_RULE = "coarsen: {kind: date, precision: year_quarter}"
AMOUNT = "coarsen: {kind: amount, width: 150, top: 3000}"
KEY_25 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO28kMWzElqniZXnhn1/0ujFbHAo4RsW2Ceq3DtgEhUf"
#: a valid age X25519 recipient (no one holds its identity)
AGE_KEY = "age178g6xffcvjslvn4jp7a2dcmvcuaxjtllqkqrcl689yhc6ga4xyls5mns6j"
#: well-formed (51 bytes) but its 32 key bytes are not a point of the curve
NOT_A_POINT = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILB2cOuUC9UzX5c9qthhm5H/yRH1fM7UWLu/LOA3U8m9"
SAMPLE_25 = (
    "covers: ['A6: sample flag']\n        source: [person.insz]\n        coarsen: {kind: keep}"
)
PERSON_SEQ = "source: [person.insz]\n        coarsen: {kind: pseudonym, domain: person}"
JOBSEEKER_25 = (
    "source: [dwh_unemployment.regional_service, dwh_unemployment.quarter_end]\n"
    "        coarsen: {kind: keep}\n        computed: extract"
)
HOUSEHOLD_SEQ = (
    "source: [household.household_id]\n        coarsen: {kind: pseudonym, domain: household}"
)

# (rule, spec, old, new, where): ``where`` is the text whose first character the problem
# must point at, searched from where ``new`` was put (or, with a leading "^", from the top)
CASES = [
    (
        "unknown-key",
        "25",
        "  in_force: 2025-04-16\n",
        "  in_force: 2025-04-16\n  colour: b\n",
        "colour",
    ),
    ("missing-key", "25", "  in_force: 2025-04-16\n", "", "^id: 25/074"),
    ("unknown-kind", "25", AMOUNT, "coarsen: {kind: blur, width: 150, top: 3000}", "{kind: blur"),
    ("bad-type", "25", "    persons: 3000", "    persons: many", "many"),
    (
        "bad-value",
        "25",
        "    fraction: 0.25\n    seed: 250741",
        "    fraction: 1.5\n    seed: 250741",
        "1.5",
    ),
    ("duplicate-key", "25", "  k: 5\n", "  k: 5\n  k: 6\n", "k: 6"),
    ("unknown-decision", "25", "  id: 25/074", "  id: 99/999", "99/999"),
    ("decision-mismatch", "25", "  in_force: 2025-04-16", "  in_force: 2025-04-17", "2025-04-17"),
    ("unknown-party", "25", "  party: uantwerpen", "  party: ugent", "ugent"),
    (
        "unknown-party",
        "25",
        "population: target\n    fraction",
        "population: targets\n    fraction",
        "targets",
    ),
    (
        "party-beyond-decision",
        "25",
        "  uantwerpen:\n",
        "  statbel:\n    name: Statbel\n    roles: [provider]\n  uantwerpen:\n",
        "[provider]",
    ),
    ("unknown-source", "25", "source: [dwh_job.nace,", "source: [dwh_jobs.nace,", "dwh_jobs.nace"),
    ("unknown-source", "25", "source: [dwh_job.nace,", "source: [dwh_job.nace5,", "dwh_job.nace5"),
    ("source-not-held", "25", "source: [dwh_job.nace,", "source: [census.sector,", "census.sector"),
    (
        "unknown-item",
        "25",
        "covers: ['A10: NACE two digits']",
        "covers: ['A10: NACE four digits']",
        "'A10: NACE four",
    ),
    (
        "unknown-item",
        "25",
        "covers: ['A10: NACE two digits']",
        "covers: ['B5: economic sector']",
        "'B5: economic",
    ),
    ("duplicate-variable", "25", "- name: seasonal_work", "- name: home_work", "home_work"),
    ("identifier-in-delivery", "25", PSEUDONYM, "coarsen: {kind: keep}", "{kind: keep}"),
    ("date-precision", "25", BIRTH, BIRTH.replace("year_quarter", "day"), "day}"),
    ("date-precision", "25", BIRTH, BIRTH.replace("year_quarter", "year_month"), "year_month"),
    ("date-precision", "25", BIRTH_RULE, "coarsen: {kind: keep}", "{kind: keep}"),
    (
        "country-classes",
        "25",
        "coarsen: {kind: country, classes: class15}",
        "coarsen: {kind: country, classes: country_code}",
        "country_code",
    ),
    (
        "country-classes",
        "25",
        "coarsen: {kind: country, classes: class15}",
        "coarsen: {kind: keep}",
        "{kind: keep}",
    ),
    ("amount-class-width", "25", AMOUNT, "coarsen: {kind: amount, width: 100, top: 3000}", "100"),
    (
        "amount-class-width",
        "25",
        AMOUNT,
        "coarsen: {kind: amount, breaks: [0, 150, 200, 900]}",
        "200",
    ),
    ("amount-class-width", "25", AMOUNT, "coarsen: {kind: keep}", "{kind: keep}"),
    (
        "age-class-width",
        "26",
        "breaks: [0, 5, 10, 15, 20,",
        "breaks: [0, 5, 10, 15, 18, 20,",
        "[0, 5",
    ),
    (
        "nace-digits",
        "25",
        "coarsen: {kind: nace, digits: 2}",
        "coarsen: {kind: nace, digits: 4}",
        "4}",
    ),
    (
        "municipality-in-delivery",
        "25",
        "coarsen: {kind: place, level: region}",
        "coarsen: {kind: place, level: municipality}",
        "municipality}",
    ),
    (
        "municipality-in-delivery",
        "25",
        "coarsen: {kind: place, level: region}",
        "coarsen: {kind: keep}",
        "{kind: keep}",
    ),
    (
        "place-precision",
        "25",
        "coarsen: {kind: place, level: region}",
        "coarsen: {kind: place, level: province}",
        "province",
    ),
    (
        "coarsen-mismatch",
        "25",
        "source: [person.sex]\n        coarsen: {kind: keep}",
        "source: [person.sex]\n        coarsen: {kind: date, precision: year}",
        "{kind: date",
    ),
    (
        "population-beyond-decision",
        "25",
        "age_at_arrival: {min: 20, max: 64}",
        "age_at_arrival: {min: 18, max: 64}",
        "{min: 18",
    ),
    (
        "population-beyond-decision",
        "26",
        "    not_in: [working, retired, studying]",
        "    not_in: [working, retired]",
        "[working, retired]",
    ),
    ("population-beyond-decision", "26", "    region: '02000'", "    region: '03000'", "'03000'"),
    ("sample-beyond-decision", "25", "    fraction: 0.25", "    fraction: 0.5", "0.5"),
    ("phase-beyond-decision", "25", "    persons: 3000", "    persons: 5000", "5000"),
    # A5, decision 25/074 §4, §29: phase 2's full samples never leave KSZ
    ("phase-mode-beyond-decision", "25", "    mode: enclave", "    mode: delivery", "delivery"),
    ("phase-mode-beyond-decision", "26", "    mode: delivery", "    mode: enclave", "enclave"),
    ("window-beyond-decision", "25", "  end: 2022Q4", "  end: 2024Q4", "^window:"),
    ("window-beyond-decision", "26", "cohort_2016: 2013Q1", "cohort_2016: 2012Q1", "2012Q1"),
    (
        "family-beyond-decision",
        "25",
        "members: [partner, children]",
        "members: [partner, children, cohabiting]",
        "[partner",
    ),
    ("threshold-floor", "25", "  k: 5\n  max_global_risk", "  k: 2\n  max_global_risk", "2\n"),
    ("threshold-floor", "25", "  min_frequency: 10", "  min_frequency: 5", "5"),
    ("threshold-floor", "25", "      l: 2", "      l: 1", "1"),
    ("retention-missing", "25", "  deadline: 2029-10-31\n", "", "^retention:"),
    (
        "retention-beyond-decision",
        "25",
        "  deadline: 2029-10-31",
        "  deadline: 2030-10-31",
        "2030-10-31",
    ),
    (
        "retention-before-decision",
        "25",
        "  deadline: 2029-10-31",
        "  deadline: 2024-10-31",
        "2024-10-31",
    ),
    # after the decision's date, before today (the test below injects today)
    ("retention-passed", "26", "  deadline: 2033-11-30", "  deadline: 2026-06-30", "2026-06-30"),
    (
        "no-recipient-keys",
        "25",
        "      public_key: ssh-ed25519 AAAAC3",
        "      # public_key: ssh-ed25519 AAAAC3",
        "^researchers:",
    ),
    (
        "bad-public-key",
        "25",
        "public_key: ssh-ed25519 AAAAC3",
        "public_key: ssh-rsa AAAAC3",
        "ssh-rsa",
    ),
    # G11: a key the encryption could not use (broken base64, wrong length, bad checksum)
    ("bad-public-key", "25", KEY_25, KEY_25[:-4], "ssh-ed25519 AAAA"),
    ("bad-public-key", "25", KEY_25, KEY_25 + "AAAA", "ssh-ed25519 AAAA"),
    ("bad-public-key", "25", KEY_25, KEY_25[:-2] + "!f", "ssh-ed25519 AAAA"),
    ("bad-public-key", "25", KEY_25, NOT_A_POINT, "ssh-ed25519 AAAA"),
    ("bad-public-key", "25", KEY_25, AGE_KEY[:-1] + "k", "age1"),
    # G3, G4: a national number, a household id or an exact date is never a delivered value,
    # whatever stage computes it
    (
        "identifier-in-delivery",
        "25",
        PERSON_SEQ,
        "source: [person.insz]\n        coarsen: {kind: keep}\n        computed: extract",
        "{kind: keep}",
    ),
    (
        "identifier-in-delivery",
        "25",
        SAMPLE_25 + "\n        computed: selection",
        SAMPLE_25 + "\n        computed: extract",
        "{kind: keep}",
    ),
    (
        "identifier-in-delivery",
        "25",
        SAMPLE_25,
        SAMPLE_25.replace("A6: sample flag", "A6: sex"),
        "{kind: keep}",
    ),
    (
        "identifier-in-delivery",
        "25",
        JOBSEEKER_25,
        JOBSEEKER_25.replace("dwh_unemployment.quarter_end", "person.father_insz"),
        "{kind: keep}",
    ),
    (
        "identifier-in-delivery",
        "26",
        HOUSEHOLD_SEQ,
        HOUSEHOLD_SEQ.replace("{kind: pseudonym, domain: household}", "{kind: keep}")
        + "\n        computed: extract",
        "{kind: keep}",
    ),
    (
        "identifier-in-delivery",
        "26",
        HOUSEHOLD_SEQ,
        "source: [household.household_id]\n        coarsen: {kind: top, max: 9}",
        "{kind: top",
    ),
    (
        "date-precision",
        "25",
        BIRTH,
        "source: [person.birth_date]\n        coarsen: {kind: keep}\n        computed: extract",
        "{kind: keep}",
    ),
    (
        "date-precision",
        "25",
        BIRTH,
        BIRTH.replace("year_quarter", "day") + "\n        computed: extract",
        "day}",
    ),
    # G5: global recoding only along the rules' hierarchies, on a key, never finer
    ("recode-not-coarser", "26", "to: {kind: top, max: 6}", "to: {kind: top, max: 9}", "{kind"),
    (
        "recode-not-coarser",
        "26",
        "to: {kind: classes, breaks: [1900, 1960,",
        "to: {kind: classes, breaks: [1900, 1965,",
        "{kind: classes",
    ),
    (
        "recode-not-coarser",
        "26",
        "to: {kind: country, classes: eu4}",
        "to: {kind: date, precision: year}",
        "{kind: date",
    ),
    (
        "recode-not-coarser",
        "25",
        "- {dataset: panel, variable: household_size, to: {kind: top, max: 5}}",
        "- {dataset: panel, variable: nationality, to: {kind: country, classes: eu4}}",
        "{kind: country, classes: eu4}",
    ),
    (
        "recode-not-a-key",
        "26",
        "variable: birth_place, to:",
        "variable: origin, to:",
        "origin, to",
    ),
    ("recode-not-a-key", "26", "variable: birth_place, to:", "variable: year, to:", "year, to"),
    (
        "recode-not-a-state",
        "26",
        "recode: [{variable: sep, to:",
        "recode: [{variable: quarter, to:",
        "quarter",
    ),
    (
        "recode-not-coarser",
        "26",
        "to: {kind: sep, level: 2}",
        "to: {kind: country, classes: eu4}",
        "{kind: country",
    ),
    # G5: research quantities the registry has, reading variables the spec delivers
    (
        "unknown-research-quantity",
        "26",
        "research: [activation.working_one_year_later]",
        "research: [activation.working_two_years_later]",
        "activation.working_two",
    ),
    (
        "unknown-research-quantity",
        "26",
        "research: [activation.working_one_year_later]",
        "research: [naturalisation.share_by_arrival_and_origin]",
        "naturalisation.",
    ),
    ("unknown-party", "26", "variable: age_class\n", "variable: age_klasse\n", "age_klasse"),
    # G5: a sensitive variable checked on another dataset's key set, and what carries it
    ("unknown-party", "26", "key_set: demography\n", "key_set: demografie\n", "demografie"),
    (
        "unknown-party",
        "26",
        "carried_by: [equivalised_income]",
        "carried_by: [equivalent_income]",
        "equivalent_income",
    ),
]


@pytest.mark.parametrize(
    ("rule", "spec", "old", "new", "where"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_g1_each_rule_points_at_the_offending_value(
    tmp_path: Path, rule: str, spec: str, old: str, new: str, where: str
) -> None:
    original = TEXT[spec]
    assert old in original, old
    start = original.index(old)
    text = original.replace(old, new, 1)
    top = where.startswith("^")
    index = text.index(where[1:]) if top else text.index(where, start)
    expected = _at(text, index)
    problems = _problems(text, tmp_path)
    found = [(p.line, p.column, p.rule) for p in problems]
    assert (*expected, rule) in found, found
    assert rule in RULES


def test_g1_yaml_syntax_error_has_a_position(tmp_path: Path) -> None:
    text = TEXT["25"].replace("  k: 5\n", "  k: [5\n", 1)
    (problem,) = _problems(text, tmp_path)
    line_of_k = _at(text, text.index("  k: [5"))[0]
    assert problem.rule == "yaml-syntax"
    assert line_of_k <= problem.line <= line_of_k + 2


def test_g1_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    (problem,) = _problems("- a\n- b\n", tmp_path)
    assert (problem.line, problem.column, problem.rule) == (1, 1, "not-a-mapping")


def test_g1_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    """A structural problem does not hide the variable rules elsewhere in the file."""
    text = TEXT["25"].replace("  in_force: 2025-04-16\n", "  in_force: 2025-04-16\n  x: 1\n", 1)
    text = text.replace("source: [dwh_job.nace,", "source: [dwh_job.nace5,", 1)
    text = text.replace(AMOUNT, "coarsen: {kind: amount, width: 100, top: 3000}", 1)
    rules = {p.rule for p in _problems(text, tmp_path)}
    assert {"unknown-key", "unknown-source", "amount-class-width"} <= rules


def test_g1_spec_check_cli_prints_positions_and_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEXT["25"].replace("    persons: 3000", "    persons: 5000", 1))
    result = CliRunner().invoke(app, ["spec", "check", str(SPEC_26), str(bad)])
    assert result.exit_code == 1
    line = _at(bad.read_text(), bad.read_text().index("5000"))
    assert f"{bad}:{line[0]}:{line[1]}: phase-beyond-decision: " in result.output
    assert "Traceback" not in result.output


def test_g1_spec_show_terminal_and_html_say_the_same(tmp_path: Path) -> None:
    page = tmp_path / "spec.html"
    result = CliRunner().invoke(
        app, ["spec", "show", str(SPEC_26), "--html", str(page)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    html = page.read_text()
    spec = load_spec(SPEC_26)
    for ds in spec.datasets.values():
        for v in ds.variables:
            assert f"<code>{v.name}</code>" in html
    for fact in ("2033-11-30", "RESPOND", "cohort_2022", "SHA256:"):
        assert fact in result.output and fact in html
    assert "B9" in html and "16/16" not in html  # coverage rows are present


def test_g1_spec_show_refuses_a_broken_spec(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TEXT["26"].replace("  deadline: 2033-11-30", "  deadline: 2034-01-01", 1))
    result = CliRunner().invoke(app, ["spec", "show", str(bad)])
    assert result.exit_code == 1
    assert "retention-beyond-decision" in result.output


# -- data minimisation -----------------------------------------------------------------


def test_g1_data_minimisation_refuses_columns_the_spec_does_not_name() -> None:
    spec = load_spec(SPEC_25)
    require_named(spec, "jobs", ["person_seq", "quarter", "nace"], party="ksz")
    with pytest.raises(MinimisationError) as err:
        require_named(spec, "jobs", ["person_seq", "insz", "nace"], party="ksz")
    assert "'insz'" in str(err.value) and "jobs" in str(err.value)
    assert err.value.rule == "not-in-spec"
    with pytest.raises(MinimisationError, match="no such dataset"):
        require_named(spec, "payroll", ["person_seq"], party="ksz")


@given(st.sets(st.sampled_from(["person_seq", "quarter", "nace", "insz", "wage_exact", "name"])))
def test_g1_minimisation_passes_exactly_the_named_subsets(columns: set[str]) -> None:
    spec = _SPEC_25
    named = set(spec.variable_names("jobs"))
    if columns <= named:
        require_named(spec, "jobs", sorted(columns), party="ksz")
    else:
        with pytest.raises(MinimisationError):
            require_named(spec, "jobs", sorted(columns), party="ksz")


_SPEC_25 = load_spec(SPEC_25)


# -- property tests: no input makes loading crash --------------------------------------


def _small_spec() -> str:
    """25/074 with two variables per dataset: valid, and quick to parse many times."""
    yaml = YAML()
    tree = yaml.load(TEXT["25"])
    scra = tree["scra"]
    used = {k for ks in scra["key_sets"] for k in ks["keys"]}
    used |= {s for lg in scra["longitudinal"] for s in lg["states"]}
    used |= {sv["variable"] for sv in scra["sensitive"]} | {scra["household"].split(".")[1]}
    used.add("unemployment_benefit")  # an amount, for the amount-class property
    used |= {name.split(".")[1] for entry in scra.get("implied", []) for name in entry["by"]}
    for ds in tree["datasets"].values():
        keep = [v for i, v in enumerate(ds["variables"]) if i < 2 or v["name"] in used]
        del ds["variables"][:]
        ds["variables"].extend(keep)
    import io

    buffer = io.StringIO()
    yaml.dump(tree, buffer)
    return buffer.getvalue()


SMALL = _small_spec()
_LINES = SMALL.splitlines(keepends=True)
GARBAGE = st.sampled_from(
    [
        "",
        "[",
        "]",
        "{",
        "}",
        "-1",
        "1e999",
        "null",
        "~",
        "yes",
        "'x",
        '"\\x"',
        "*a",
        "&a x",
        "!!binary x",
        "[1, 2]",
        "{a: 1}",
        ": :",
        "\t",
        "%",
        "@",
        "2025-02-30",
        "0x1F",
    ]
)


def _check_never_crashes(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_spec(path)
        except SpecError as err:
            assert err.problems
            for p in err.problems:
                assert p.line >= 1 and p.column >= 1, p
                assert p.rule in RULES, p
                assert p.file == str(path)


def test_g1_the_small_spec_is_valid() -> None:
    _check_never_crashes(SMALL)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.yaml"
        path.write_text(SMALL)
        load_spec(path)


_FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(st.integers(0, len(SMALL)))
def test_g1_truncated_spec_fails_cleanly(cut: int) -> None:
    _check_never_crashes(SMALL[:cut])


@_FAST
@given(st.integers(0, len(_LINES) - 1))
def test_g1_spec_with_a_line_dropped_fails_cleanly(line: int) -> None:
    _check_never_crashes("".join(_LINES[:line] + _LINES[line + 1 :]))


@_FAST
@given(st.integers(0, len(SMALL)), st.text(max_size=12) | GARBAGE)
def test_g1_spec_with_garbage_inserted_fails_cleanly(at: int, garbage: str) -> None:
    _check_never_crashes(SMALL[:at] + garbage + SMALL[at:])


@_FAST
@given(st.integers(0, len(_LINES) - 1), GARBAGE | st.text(max_size=8))
def test_g1_spec_with_a_value_changed_fails_cleanly(line: int, value: str) -> None:
    lines = list(_LINES)
    head, sep, _ = lines[line].partition(": ")
    if sep:
        lines[line] = f"{head}: {value}\n"
    _check_never_crashes("".join(lines))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 20000), min_size=2, max_size=6, unique=True))
def test_g4_amount_breaks_narrower_than_150_are_refused(breaks: list[int]) -> None:
    breaks = sorted(breaks)
    assert AMOUNT in SMALL
    text = SMALL.replace(AMOUNT, f"coarsen: {{kind: amount, breaks: {breaks}}}", 1)
    with tempfile.TemporaryDirectory() as tmp:
        problems = _problems(text, Path(tmp))
    narrow = any(b - a < 150 for a, b in pairwise(breaks))
    assert ("amount-class-width" in {p.rule for p in problems}) == narrow


def test_g1_every_rule_is_documented() -> None:
    doc = (ROOT / "docs" / "spec-reference.md").read_text()
    for rule in RULES:
        assert f"| `{rule}` |" in doc, rule


def test_g1_demo_checks_both_specs_and_writes_their_pages(tmp_path: Path) -> None:
    from sluis.cli.demo import _demo_specs
    from sluis.errors import UsageError

    assert _demo_specs(ROOT / "specs", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec-25-074.html", "spec-26-050.html"]
    with pytest.raises(UsageError, match="no spec files"):
        _demo_specs(tmp_path, tmp_path)


def test_g1_a_variable_without_a_paragraph(tmp_path: Path) -> None:
    """Neither the variable nor its dataset names the decision's paragraph."""
    text = TEXT["25"].replace(
        "    unit: job_quarter\n    who: sampled\n    paragraph: '15'\n",
        "    unit: job_quarter\n    who: sampled\n",
        1,
    )
    text = text.replace(
        "coarsen: {kind: nace, digits: 2}\n        paragraph: '15'\n",
        "coarsen: {kind: nace, digits: 2}\n",
        1,
    )
    expected = _at(text, text.index("name: nace\n"))
    found = [(p.line, p.column, p.rule) for p in _problems(text, tmp_path)]
    assert (*expected, "no-paragraph") in found, found


def test_g1_every_rule_has_a_spec_that_breaks_it() -> None:
    tested = {c[0] for c in CASES} | {"yaml-syntax", "not-a-mapping", "no-paragraph"}
    tested |= {"yaml-too-large", "yaml-too-deep", "yaml-aliases"}  # tests/test_spec_limits.py
    tested |= {"unknown-derivation", "not-a-contract-column"}  # test_extract_derivations.py
    assert tested == set(RULES)


# -- what never leaves, whatever the spec says (G1, G3, G4, G11, A5, A14, B10) -----------


@pytest.mark.parametrize(
    ("today", "deadline", "passed"),
    [("2033-11-30", "2033-11-30", False), ("2033-12-01", "2033-11-30", True)],
)
def test_a14_b10_a_retention_deadline_before_today_is_refused(
    tmp_path: Path, today: str, deadline: str, passed: bool
) -> None:
    """The day is injected: the deadline itself is still in time, the day after is not."""
    import datetime as dt

    path = tmp_path / "spec.yaml"
    path.write_text(TEXT["26"])
    rules = {
        p.rule for p in check_document(read_document(path), today=dt.date.fromisoformat(today))[1]
    }
    assert ("retention-passed" in rules) == passed, rules
    with pytest.raises(SpecError, match="retention-passed"):
        load_spec(SPEC_26, today=dt.date(2034, 1, 1))


def test_g1_no_national_number_or_exact_date_leaves_as_a_computed_kept_value(
    tmp_path: Path,
) -> None:
    """Every variable of both shipped specs whose value is a national number, a sequence
    number or an exact date, rewritten as ``keep`` computed by the extract, is
    refused at its rule: the computed flag does not open a way around G3 and G4."""
    from sluis.sources.contract import CONTRACT

    columns = {f"{t.name}.{c.name}": c for t in CONTRACT for c in t.columns}
    for key in ("25", "26"):
        yaml = YAML()
        tree = yaml.load(TEXT[key])
        rewritten = []
        for name, ds in tree["datasets"].items():
            for i, v in enumerate(ds["variables"]):
                first = columns[v["source"][0]]
                sequence = any("sequence number" in item for item in v["covers"])
                if first.type in ("insz", "date") or sequence:
                    v["coarsen"] = {"kind": "keep"}
                    v["computed"] = "extract"
                    rewritten.append((name, i, v["name"]))
        assert len(rewritten) > 10
        import io

        buffer = io.StringIO()
        yaml.dump(tree, buffer)
        path = tmp_path / f"{key}.yaml"
        path.write_text(buffer.getvalue())
        doc = read_document(path)
        found = {
            (p.line, p.column)
            for p in check_document(doc)[1]
            if p.rule in ("identifier-in-delivery", "date-precision")
        }
        for name, i, variable in rewritten:
            where = doc.position(("datasets", name, "variables", i, "coarsen"))
            assert where in found, (key, name, variable)


def test_g1_selection_flags_from_the_national_number_stay_legitimate() -> None:
    """The shipped sample flags and cohorts are computed from ``person.insz`` by the
    selection stage and kept as they are: a flag about the person, not the number."""
    for path in (SPEC_25, SPEC_26):
        spec = load_spec(path)
        kept = [
            v
            for ds in spec.datasets.values()
            for v in ds.variables
            if v.computed == "selection" and v.coarsen.kind == "keep" and "person.insz" in v.source
        ]
        assert kept, path


def test_g1_a_name_column_is_identifying_and_a_household_id_is_not() -> None:
    from sluis.sources.contract import CONTRACT, Column
    from sluis.spec.rules import identifying

    assert identifying(Column("surname", "string", "Surname.")) == "name"
    assert identifying(Column("first_name", "string", "Given name.")) == "name"
    assert identifying(Column("insz", "insz", "Person.")) == "national number"
    assert identifying(Column("household_id", "string", "Household.")) is None
    assert identifying(Column("name", "code", "A coded name list.")) is None
    # today's contract: every national number column is identifying, nothing else
    for table in CONTRACT:
        for col in table.columns:
            assert (identifying(col) is not None) == (col.type == "insz"), col


def test_g11_the_researcher_keys_spec_check_accepts() -> None:
    """The shipped keys and an age recipient pass; they are the keys the encryption uses."""
    from sluis.spec.rules import public_key_problem

    for researcher in [*_SPEC_25.recipient.researchers, *load_spec(SPEC_26).recipient.researchers]:
        assert researcher.public_key and public_key_problem(researcher.public_key) is None
    assert public_key_problem(AGE_KEY) is None
    assert public_key_problem(KEY_25 + " researcher@uantwerpen.invalid") is None
    assert "not a point" in (public_key_problem(NOT_A_POINT) or "")


def test_g11_a_spec_with_an_age_recipient_passes(tmp_path: Path) -> None:
    assert KEY_25 in TEXT["25"]
    assert not _problems(TEXT["25"].replace(KEY_25, AGE_KEY, 1), tmp_path)


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


@settings(max_examples=150, deadline=None)
@given(st.integers(4, len(AGE_KEY) - 1), st.sampled_from(_BECH32))
def test_g11_any_one_character_changed_in_an_age_key_is_refused(at: int, char: str) -> None:
    """bech32's checksum catches every single substitution; the parser must check it."""
    from sluis.spec.rules import public_key_problem

    changed = AGE_KEY[:at] + char + AGE_KEY[at + 1 :]
    assert (public_key_problem(changed) is None) == (changed == AGE_KEY)


@settings(max_examples=60, deadline=None)
@given(st.integers(-40, 40).filter(lambda n: n != 0))
def test_g11_an_ssh_key_of_another_length_is_refused(change: int) -> None:
    from sluis.spec.rules import public_key_problem

    body = KEY_25.split()[1]
    body = body[:change] if change < 0 else body + "A" * change
    assert public_key_problem(f"ssh-ed25519 {body}") is not None
