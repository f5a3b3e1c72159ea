"""The codebook of a delivery (G8): every delivered variable with its source, its coarsening
rule, its classes and the paragraph of the decision that allows it.

One model per delivery, built from the spec and the treated tables; the renderings
(``datapackage.json``, DDI-Codebook XML, the HTML codebook, the README) and the Stata export
all read it, so that a label or a class is written down once. Classes come from the
coarsening rule (:meth:`sluis.coarsen.rule.Rule.labelled`) or, for a ``keep`` code, from the
code list of the source column (``sluis.sources.contract``); sequence numbers, dates cut to a
quarter, month or year, and counts have none. A code found in the data that the list does not
have is kept as a category of its own, labelled as such, so the codebook never hides a value.

The rule a column follows is not always the variable's own: the SCRA's global recoding (G5)
may have coarsened it further to a ``scra.recode`` step's ``to`` rule, and the treated files
hold the recoded values. :func:`effective_rules` decides, from the spec and the SCRA report
(``scra.json``, key ``recoded``), which rule each delivered column follows, so that the
classes, the labels and the Stata value labels describe the values really delivered (G8), and
the variable's rule says it was recoded by the SCRA. The variable's label follows too
(:func:`recoded_label`, with the rule's :meth:`~sluis.coarsen.rule.Rule.phrase`): a spec
label such as ``Age class (5 years)`` names the variable's own rule, and a Stata user reads
only the label.

Numeric class rules (ages, amounts, ``classes``) have an open class below their first bound
(:meth:`sluis.coarsen.rule.Rule.open_below`); it is listed only when the delivered column holds it,
because for most rules it cannot happen (``under 0 years``) or does not (``under 1,900`` for
an arrival year), and a codebook that labels a class nobody is in reads as a defect.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sluis.domain.codelists import codelists
from sluis.errors import SluisError
from sluis.sources.contract import table as source_table
from sluis.spec.minimise import require_named
from sluis.spec.model import Coarsen, RecodeStep, Spec, Variable

Code = int | float | str

#: a value found in the data that its code list does not have
NOT_IN_LIST = "(code not in the code list)"
#: the key of ``scra.json`` (:class:`sluis.scra.result.ScraResult`) that lists the global
#: recoding steps the SCRA applied, in order: ``{dataset, variable, from_rule, to_rule, to}``
SCRA_RECODED = "recoded"
#: where the classes of a recoded variable come from (``categories_from``)
FROM_RECODE = "SCRA's recode rule"

#: the Stata display format of a date delivered at a quarter's or a month's precision: the
#: Stata file holds the quarters (``%tq``) or months (``%tm``) since 1960
STATA_DATE_FORMATS = {"year_quarter": "%tq", "year_month": "%tm"}

_FLAG = {"0": "No", "1": "Yes"}
#: labels of values a stage computes (``computed:``), by variable name: the source column's
#: code list does not describe them; None means the value has no labels (a year, a cohort)
DERIVED: dict[str, dict[str, str] | None] = {
    "sample": {"1": "General sample", "2": "Supplementary sample", "3": "Family member"},
    "left_household": {
        "0": "Still in the household",
        "1": "Last quarter in the household (left afterwards)",
    },
    "enrolled": {"0": "Not enrolled", "1": "Enrolled"},
    "exempt_training": _FLAG,
    "exempt_family_social": _FLAG,
    "exempt_integration_income": _FLAG,
    "jobseeker": {"0": "Not a job seeker", "1": "Registered job seeker"},
    "moved_out": _FLAG,
    "origin": None,
    "cohort": None,
}


@dataclass(frozen=True)
class Category:
    """One class of a variable: the delivered code, its label and its Stata integer."""

    code: Code
    label: str
    #: the integer the Stata file holds for this code (the code itself when it is whole)
    stata: int | None


@dataclass(frozen=True)
class VariableDoc:
    """One delivered column."""

    name: str
    label: str
    #: ``integer``, ``number`` or ``string``, as delivered in Parquet and CSV
    type: str
    sources: tuple[str, ...]
    rule: str
    rule_kind: str
    paragraph: str
    covers: tuple[str, ...]
    categories: tuple[Category, ...] | None
    #: where the labels come from: ``coarsening rule`` or ``code list <name>``
    categories_from: str | None
    computed: str | None = None
    note: str | None = None
    #: the variable's own rule in words when the SCRA recoded the column to a coarser rule
    #: (G5); ``rule`` then reads ``recoded by the SCRA from <own rule> to <recode's rule>``
    recoded_from: str | None = None
    #: the precision of a date rule (``year_quarter``, ``year_month``, ``year``, ``day``):
    #: the Stata file holds quarters and months as Stata dates (``%tq``, ``%tm``)
    precision: str | None = None

    @property
    def stata_recoded(self) -> bool:
        """True when the Stata file holds integers for string codes (see :attr:`Category.stata`)."""
        return self.type == "string" and self.categories is not None

    @property
    def stata_format(self) -> str | None:
        """``%tq`` or ``%tm`` when the Stata file holds the column as a Stata date."""
        return STATA_DATE_FORMATS.get(self.precision or "")

    @property
    def source(self) -> str:
        return ", ".join(self.sources)


@dataclass(frozen=True)
class DatasetDoc:
    """One delivered table."""

    name: str
    description: str
    unit: str
    who: str
    paragraph: str
    rows: int
    variables: tuple[VariableDoc, ...]


@dataclass(frozen=True)
class Codebook:
    """Everything a researcher needs to read a delivery without asking."""

    decision_id: str
    #: the project's id in names (``25-074``): the spec's slug
    slug: str
    title: str
    purpose: str
    legal_basis: str
    producer: str
    recipient: str
    researchers: tuple[str, ...]
    #: the date of the decision (the authorisation) the delivery is made under
    decision_date: dt.date
    retention_deadline: dt.date | None
    spec_sha256: str
    created: dt.date
    datasets: tuple[DatasetDoc, ...]

    def dataset(self, name: str) -> DatasetDoc:
        for d in self.datasets:
            if d.name == name:
                return d
        raise KeyError(name)


def _type(arrow: pa.DataType) -> str:
    if pa.types.is_integer(arrow) or pa.types.is_boolean(arrow):
        return "integer"
    if pa.types.is_floating(arrow) or pa.types.is_decimal(arrow):
        return "number"
    return "string"


def _codelist(ref: str) -> str | None:
    table, _, column = ref.partition(".")
    try:
        return source_table(table).column(column).codelist
    except KeyError:
        return None


def _labels(v: Variable) -> tuple[dict[str, str] | None, str | None]:
    """The labels of a ``keep`` value and where they come from: the code list of the source
    column, merged with the lists of the other sources holding the same column (the French
    Community's register filling gaps of the Flemish one: ``education_*.level``)."""
    if v.computed is not None and v.name in DERIVED:
        found = DERIVED[v.name]
        return (found, "derivation") if found is not None else (None, None)
    column = v.source[0].partition(".")[2]
    names = [_codelist(v.source[0])]
    names += [_codelist(ref) for ref in v.source[1:] if ref.partition(".")[2] == column]
    lists = list(dict.fromkeys(n for n in names if n is not None))
    if not lists or names[0] is None:
        return None, None
    labels: dict[str, str] = {}
    for name in reversed(lists):  # the first source's label wins
        labels |= codelists()[name].labels
    ordered = {c: labels[c] for c in sorted(labels)} if len(lists) > 1 else labels
    return ordered, ("code list " if len(lists) == 1 else "code lists ") + ", ".join(lists)


def _stata_codes(codes: list[Code]) -> list[int | None]:
    """Stata wants integers with value labels: a whole number stays itself (``'02000'`` is
    2000, ``-1`` is -1), other codes (``'MAR+'``, ``'A'``) are numbered 1, 2, ... in class
    order; decimal codes get none (Stata labels only integers)."""
    if all(isinstance(c, int) for c in codes):
        return list(codes)  # type: ignore[arg-type]
    if any(isinstance(c, float) for c in codes):
        return [None] * len(codes)
    texts = [str(c) for c in codes]
    if all(t.isascii() and t.lstrip("-").isdigit() for t in texts):
        ints = [int(t) for t in texts]
        if len(set(ints)) == len(ints) and all(abs(i) < 2_000_000_000 for i in ints):
            return ints  # type: ignore[return-value]
    return list(range(1, len(codes) + 1))


def _categories(
    listed: list[tuple[Code, str]], found: list[Code], arrow: pa.DataType
) -> tuple[Category, ...]:
    """The listed classes in code order, then the codes found in the data that the list does
    not have; codes take the column's type (an integer column's code list of ``'1'``)."""
    if pa.types.is_integer(arrow):
        listed = [(int(c), label) for c, label in listed if str(c).lstrip("-").isdigit()]
    elif pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        listed = [(str(c), label) for c, label in listed]
    known = {c for c, _ in listed}
    extra = sorted(c for c in found if c not in known)
    pairs = [*listed, *((c, NOT_IN_LIST) for c in extra)]
    stata = _stata_codes([c for c, _ in pairs])
    return tuple(Category(c, label, s) for (c, label), s in zip(pairs, stata, strict=True))


def effective_rules(spec: Spec, scra: Mapping[str, Any] | None) -> dict[tuple[str, str], Coarsen]:
    """The rule every delivered column follows, by (dataset, variable): the variable's own
    rule, or the ``to`` rule of the last ``scra.recode`` step that the SCRA report ``scra``
    (the parsed ``scra.json``) lists as applied under :data:`SCRA_RECODED` (G5).

    The one place that decides it, because the treated files hold the recoded values and a
    codebook built from the variable's own rule would label classes that are not delivered
    (G8). The rule is taken from the spec's step, not from the report, and a report that
    lists a step the spec does not declare is refused (``scra-recode-unknown``): it is the
    report of another spec or run, and its treated files cannot be described from this one.
    A report without the key (no spec-driven treatment, or ``None``) recodes nothing.
    """
    rules = {(d, v.name): v.coarsen for d, ds in spec.datasets.items() for v in ds.variables}
    listed = (scra or {}).get(SCRA_RECODED) or []
    if not isinstance(listed, list):
        raise SluisError(
            f"'{SCRA_RECODED}' is not a list of recode steps",
            rule="scra-invalid",
            file="scra.json",
        )
    for entry in listed:
        step = _declared_step(spec, entry)
        rules[(step.dataset, step.variable)] = step.to
    return rules


def declared_recodes(spec: Spec) -> list[RecodeStep]:
    """Every recode step the spec lets the SCRA take: ``scra.recode`` (keys) and each
    trajectory check's ``recode`` (states), as steps of their dataset."""
    states = [
        RecodeStep(dataset=lg.dataset, variable=step.variable, to=step.to)
        for lg in spec.scra.longitudinal
        for step in lg.recode
    ]
    return [*spec.scra.recode, *states]


def _declared_step(spec: Spec, entry: object) -> RecodeStep:
    """The spec's recode step an applied step of ``scra.json`` stands for: same dataset,
    variable and ``to`` rule (as the SCRA writes it: JSON, no empty fields)."""
    if isinstance(entry, Mapping):
        for step in declared_recodes(spec):
            if (
                step.dataset == entry.get("dataset")
                and step.variable == entry.get("variable")
                and step.to.model_dump(mode="json", exclude_none=True) == entry.get("to")
            ):
                return step
        what = f"{entry.get('dataset')}.{entry.get('variable')} to {entry.get('to_rule')}"
    else:
        what = repr(entry)
    raise SluisError(
        f"scra.json lists a recode of {what} that the spec's scra.recode (or a trajectory "
        "check's recode) does not declare",
        rule="scra-recode-unknown",
        file="scra.json",
        hint="deliver the SCRA report of this spec's run (sluis scra --spec)",
    )


#: the longest variable label Stata keeps (dta 118)
LABEL_MAX = 80


def recoded_label(label: str, rule: Coarsen) -> str:
    """The label of a variable the SCRA recoded to ``rule`` (G5, G8): the spec's label names
    the variable's own rule in a closing parenthesis (``Age class (5 years)``), which the
    recoded column no longer follows; that parenthesis is replaced by the recode rule's
    phrase, marked as the SCRA's, within Stata's 80 characters."""
    base = label.strip()
    if base.endswith(")") and " (" in base:
        base = base[: base.rindex(" (")].rstrip()
    phrase = rule.phrase()
    for candidate in (f"{base} ({phrase}; recoded by the SCRA)", f"{base} ({phrase})"):
        if len(candidate) <= LABEL_MAX:
            return candidate
    return f"{base[: LABEL_MAX - len(' (recoded)')]} (recoded)"


def variable_doc(
    v: Variable,
    default_paragraph: str,
    column: pa.ChunkedArray,
    rule: Coarsen | None = None,
) -> VariableDoc:
    """The codebook entry of one variable, given its delivered column and the rule that
    column follows (:func:`effective_rules`; the variable's own rule when not given)."""
    rule = v.coarsen if rule is None else rule
    recoded = rule != v.coarsen
    listed = rule.labelled()
    origin = (FROM_RECODE if recoded else "coarsening rule") if listed is not None else None
    if listed is None and rule.keeps_value:
        labels, origin = _labels(v)
        listed = None if labels is None else list(labels.items())
    categories = None
    if listed is not None:
        found = [x for x in pc.unique(column.drop_null()).to_pylist()]
        below = rule.open_below()
        if below is not None and below not in found:
            listed = [(c, label) for c, label in listed if c != below]
        categories = _categories(list(listed), found, column.type)
    text = rule.text()
    if recoded:  # the delivered values follow the recode (G5): say so where the rule is read
        text = f"recoded by the SCRA from {v.coarsen.text()} to {text}"
    return VariableDoc(
        name=v.name,
        label=recoded_label(v.label, rule) if recoded else v.label,
        type=_type(column.type),
        sources=tuple(v.source),
        rule=text,
        rule_kind=rule.kind,
        paragraph=v.paragraph or default_paragraph,
        covers=tuple(v.covers),
        categories=categories,
        categories_from=origin,
        computed=v.computed,
        note=v.note,
        recoded_from=v.coarsen.text() if recoded else None,
        precision=rule.date_precision(),
    )


def sender(spec: Spec) -> str:
    """The party that sends the package: the spec's pseudonymiser."""
    return spec.pseudonymiser


def treated_files(spec: Spec, treated: Path) -> dict[str, Path]:
    """The treated Parquet file of every dataset of the spec; refuses a missing dataset or a
    file the spec does not name (X2: nothing delivered half, nothing extra)."""
    treated = Path(treated)
    files = {p.stem: p for p in sorted(treated.glob("*.parquet"))}
    missing = [d for d in spec.datasets if d not in files]
    extra = [name for name in files if name not in spec.datasets]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"no treated file for dataset(s) {', '.join(missing)}")
        if extra:
            parts.append(f"file(s) for dataset(s) the spec does not name: {', '.join(extra)}")
        raise SluisError(
            f"{treated}: " + "; ".join(parts),
            rule="treated-extract",
            file=str(treated),
            hint="deliver the SCRA's treated extract (<work>/ksz/scra/staged) of this spec",
        )
    return {d: files[d] for d in spec.datasets}


def read_dataset(spec: Spec, name: str, path: Path) -> pa.Table:
    """The treated table of one dataset with the spec's columns in spec order; a column the
    spec does not name, or a missing one, is refused (G1)."""
    table = pq.read_table(path)
    require_named(spec, name, table.column_names, party=sender(spec))
    wanted = spec.variable_names(name)
    missing = [c for c in wanted if c not in table.column_names]
    if missing:
        raise SluisError(
            f"{path}: dataset {name} lacks column(s) {', '.join(missing)} of the spec",
            rule="missing-column",
            file=str(path),
        )
    return table.select(wanted).replace_schema_metadata(None)


def build_codebook(
    spec: Spec,
    spec_sha256: str,
    tables: dict[str, pa.Table],
    *,
    created: dt.date,
    scra: Mapping[str, Any] | None = None,
) -> Codebook:
    """The codebook of a delivery of ``tables`` (dataset -> treated table) under ``spec``;
    ``scra`` is the parsed SCRA report (``scra.json``), whose applied recode steps decide the
    rule, classes and labels of a recoded column (:func:`effective_rules`)."""
    rules = effective_rules(spec, scra)
    datasets = []
    for name, ds in spec.datasets.items():
        t = tables[name]
        paragraph = ds.paragraph or ""
        datasets.append(
            DatasetDoc(
                name=name,
                description=ds.description,
                unit=ds.unit,
                who=ds.who,
                paragraph=paragraph,
                rows=t.num_rows,
                variables=tuple(
                    variable_doc(v, paragraph, t[v.name], rules[(name, v.name)])
                    for v in ds.variables
                ),
            )
        )
    producer = spec.parties[spec.pseudonymiser].name
    recipient = spec.parties[spec.recipient.party].name
    return Codebook(
        decision_id=spec.decision.id,
        slug=spec.slug,
        title=spec.decision.title,
        purpose=spec.purpose,
        legal_basis=spec.legal_basis,
        producer=producer,
        recipient=recipient,
        researchers=tuple(r.name for r in spec.recipient.researchers),
        decision_date=spec.decision.date,
        retention_deadline=spec.retention.deadline,
        spec_sha256=spec_sha256,
        created=created,
        datasets=tuple(datasets),
    )
