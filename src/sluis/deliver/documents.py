"""The codebook's renderings and the researcher's README (G8), all from one
:class:`~sluis.deliver.codebook.Codebook`.

- ``datapackage.json``: a Frictionless Data Package (v2 profile) with a resource per file of
  the package, the data files with a Table Schema whose classed and coded fields carry
  ``categories`` (for the Stata resource: the integers Stata holds);
- ``ddi-codebook.xml``: DDI-Codebook 2.5 (``stdyDscr``, a ``fileDscr`` per dataset,
  ``dataDscr/var`` with ``labl`` and ``catgry``);
- ``codebook.html``: the same for a person, through the shared report layout;
- ``README.md``: what the package is, how to read each format, the retention deadline and
  the prohibition of re-identification.

Every rendering is deterministic: sorted keys, no time of day, no random ids (X3).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from sluis.deliver.codebook import Category, Codebook, VariableDoc
from sluis.report import render_page

DDI_NS = "ddi:codebook:2_5"
#: the body whose decision authorises every delivery
AUTHORITY = "Information Security Committee"
FORMATS = {
    "parquet": ("parquet", "application/vnd.apache.parquet", "parquet"),
    "csv": ("csv", "text/csv", "csv"),
    "stata": ("dta", "application/x-stata-dta", "stata"),
}


def dumps(data: Any) -> str:
    """JSON as every file of the package writes it: sorted keys, two-space indent, UTF-8."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- Frictionless ---------------------------------------------------------------------------


def _category(c: Category, stata: bool) -> dict[str, Any]:
    return {"value": c.stata if stata else c.code, "label": c.label}


def _field(v: VariableDoc, stata: bool) -> dict[str, Any]:
    stata_format = v.stata_format if stata else None
    kind = "integer" if stata and (v.stata_recoded or stata_format) else v.type
    field: dict[str, Any] = {
        "name": v.name,
        "title": v.label,
        "type": kind,
        "description": f"{v.rule}; from {v.source}; decision §{v.paragraph}",
        "sluis:source": list(v.sources),
        "sluis:coarsening": v.rule,
        "sluis:paragraph": v.paragraph,
        "sluis:covers": list(v.covers),
    }
    if v.categories is not None and not (stata and v.type == "number"):
        cats = [_category(c, stata) for c in v.categories if not stata or c.stata is not None]
        field["categories"] = cats
        # frictionless checks constraints, not categories: every delivered code is listed
        # (a code its list lacks is a category of its own), so the enum always holds
        field["constraints"] = {"enum": [c["value"] for c in cats]}
    if stata_format is not None:  # a Stata date: the quarters or months since 1960
        field["sluis:stata_format"] = stata_format
    if v.recoded_from is not None:  # the SCRA's global recoding (G5): the rule it replaced
        field["sluis:recoded_from"] = v.recoded_from
    if v.note:
        field["sluis:note"] = v.note
    return field


def datapackage(codebook: Codebook, files: dict[str, tuple[int, str]]) -> dict[str, Any]:
    """The Data Package descriptor, written as ``data/datapackage.json``: Frictionless wants
    resource paths relative to the descriptor without ``../``. ``files`` maps each path under
    ``data/`` to its size and SHA-256.

    Every resource is declared so that ``frictionless validate`` passes on the package (G8):

    - CSV: a table with its Table Schema, size and SHA-256 (every cell is checked);
    - Parquet: a table with its Table Schema and no size or hash: frictionless-py opens a
      Parquet file by its path (never counting its bytes, so any ``bytes`` fails) and reads it
      through pandas, where the nulls of an integer column arrive as NaN; the schema therefore
      also counts ``nan`` as missing (no delivered value is the text ``nan``). The BagIt
      manifest holds the file's SHA-256;
    - Stata: a plain file (frictionless reads no ``.dta``) with its size and SHA-256; its
      schema documents the integers and value labels the Stata file holds;
    - every other file (README, codebooks, SCRA report): a plain file with size and SHA-256.
    """
    resources = []
    for path, (size, sha) in sorted(files.items()):
        parts = path.split("/")
        resource: dict[str, Any] = {
            "name": path.replace("/", "-").replace(".", "-").replace("_", "-").lower(),
            "path": path,
            "type": "file",
            "bytes": size,
            "hash": f"sha256:{sha}",
        }
        fmt = next((k for k, (ext, _, d) in FORMATS.items() if parts[0] == d), None)
        if fmt is not None and len(parts) == 2:
            ext, media, _ = FORMATS[fmt]
            dataset = codebook.dataset(parts[1].removesuffix(f".{ext}"))
            resource |= {
                "type": "file" if fmt == "stata" else "table",
                "format": ext,
                "mediatype": media,
                "title": f"{dataset.name} ({fmt})",
                "description": dataset.description,
                "schema": {
                    "fields": [_field(v, fmt == "stata") for v in dataset.variables],
                    "missingValues": ["", "nan"] if fmt == "parquet" else [""],
                },
            }
            if fmt == "parquet":
                del resource["bytes"], resource["hash"]
            if fmt == "csv":
                resource["encoding"] = "utf-8"
                resource["dialect"] = {"delimiter": ",", "header": True}
        resources.append(resource)
    name = "decision-" + codebook.slug
    return {
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": name,
        "title": codebook.title,
        "description": codebook.purpose,
        "created": f"{codebook.created.isoformat()}T00:00:00Z",
        "contributors": [
            {"title": codebook.producer, "roles": ["producer"]},
            {"title": codebook.recipient, "roles": ["recipient"]},
        ],
        "sluis:decision": codebook.decision_id,
        "sluis:spec_sha256": codebook.spec_sha256,
        "sluis:retention_deadline": (
            codebook.retention_deadline.isoformat() if codebook.retention_deadline else None
        ),
        "resources": resources,
    }


# -- DDI-Codebook 2.5 -----------------------------------------------------------------------


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{DDI_NS}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def ddi(codebook: Codebook) -> bytes:
    """The DDI-Codebook 2.5 XML of the delivery (UTF-8, indented), valid against the DDI
    Alliance's ``codebook.xsd``: every element in the order its type's sequence sets.

    The decision is the study's authorisation (``studyAuthorization``: the Information
    Security Committee, the decision's date and id, and the legal basis as its statement);
    ``useStmt`` holds what the recipient must respect (confidentiality, the ban on
    re-identification, the retention deadline). A variable's ``catgry`` come before its
    ``codInstr`` (the source and coarsening rule)."""
    ET.register_namespace("", DDI_NS)
    root = ET.Element(f"{{{DDI_NS}}}codeBook", {"version": "2.5"})
    study = _sub(root, "stdyDscr")
    citation = _sub(study, "citation")
    titles = _sub(citation, "titlStmt")
    _sub(titles, "titl", codebook.title)
    _sub(titles, "IDNo", codebook.decision_id, agency=AUTHORITY)
    prod = _sub(citation, "prodStmt")
    _sub(prod, "producer", codebook.producer, role="pseudonymiser")
    _sub(prod, "prodDate", codebook.created.isoformat(), date=codebook.created.isoformat())
    _sub(prod, "software", "sluis")
    dist = _sub(citation, "distStmt")
    _sub(dist, "distrbtr", codebook.producer)
    _sub(dist, "contact", codebook.recipient)
    authorisation = _sub(study, "studyAuthorization", date=codebook.decision_date.isoformat())
    _sub(authorisation, "authorizingAgency", AUTHORITY)
    _sub(
        authorisation,
        "authorizationStatement",
        f"Decision {codebook.decision_id} of {codebook.decision_date.isoformat()}. "
        f"Legal basis: {codebook.legal_basis}",
    )
    info = _sub(study, "stdyInfo")
    _sub(info, "abstract", codebook.purpose)
    access = _sub(study, "dataAccs")
    use = _sub(access, "useStmt")
    _sub(use, "confDec", f"Pseudonymised personal data under decision {codebook.decision_id}.")
    _sub(use, "restrctn", "Any attempt to re-identify a person is forbidden.")
    if codebook.retention_deadline:
        _sub(use, "conditions", f"Destroy by {codebook.retention_deadline.isoformat()}.")
    for i, d in enumerate(codebook.datasets, start=1):
        fd = _sub(root, "fileDscr", ID=f"F{i}", URI=f"parquet/{d.name}.parquet")
        txt = _sub(fd, "fileTxt")
        _sub(txt, "fileName", d.name)
        _sub(txt, "fileCont", f"{d.description} Unit: {d.unit}; rows describe: {d.who}.")
        dims = _sub(txt, "dimensns")
        _sub(dims, "caseQnty", str(d.rows))
        _sub(dims, "varQnty", str(len(d.variables)))
    data = _sub(root, "dataDscr")
    for i, d in enumerate(codebook.datasets, start=1):
        for v in d.variables:
            var = _sub(
                data,
                "var",
                ID=f"V_{d.name}_{v.name}",
                name=v.name,
                files=f"F{i}",
                intrvl="discrete" if v.categories is not None or v.type == "string" else "contin",
            )
            _sub(var, "labl", v.label)
            _sub(var, "txt", f"Covers {'; '.join(v.covers)}. Decision §{v.paragraph}.")
            for c in v.categories or ():
                cat = _sub(var, "catgry")
                _sub(cat, "catValu", str(c.code))
                _sub(cat, "labl", c.label)
            _sub(var, "codInstr", f"Source {v.source}; coarsening: {v.rule}.")
            _sub(var, "varFormat", type="character" if v.type == "string" else "numeric")
            if v.note:
                _sub(var, "notes", v.note)
    tree = ET.ElementTree(root)
    ET.indent(tree, space="  ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# -- HTML and README --------------------------------------------------------------------------


def codebook_html(codebook: Codebook) -> str:
    """The HTML codebook (template ``codebook.html``)."""
    return render_page(
        "codebook.html", title=f"Codebook: decision {codebook.decision_id}", c=codebook
    )


def _example_dataset(codebook: Codebook) -> str:
    """The dataset the README's examples name: the one with the most rows (the panel a
    researcher opens first), so that every example names a file of this package."""
    return max(codebook.datasets, key=lambda d: d.rows).name


def readme(codebook: Codebook, formats: list[str], package: str) -> str:
    """The researcher's README.md; its examples name files of this package (G8)."""
    c = codebook
    deadline = c.retention_deadline.isoformat() if c.retention_deadline else "(not set)"
    lines = [
        f"# Delivery {package}",
        "",
        f"Pseudonymised data delivered under decision **{c.decision_id}** of the Information",
        f"Security Committee by {c.producer} to {c.recipient}.",
        "",
        f"> {c.title}",
        "",
        f"**Purpose.** {c.purpose}",
        "",
        f"**Legal basis.** {c.legal_basis}",
        "",
        f"**Researchers.** {'; '.join(c.researchers) or '(none named)'}",
        "",
        "## Rules of use",
        "",
        "- The data are pseudonymised and coarsened: persons are sequence numbers, dates are",
        "  quarters, months or years, amounts and ages are classes. **Any attempt to",
        "  re-identify a person, or to link these data with other data about persons, is",
        "  forbidden.**",
        "- Use the data only for the purpose above, only by the researchers named above.",
        f"- **Destroy every copy by {deadline}** (retention deadline of the decision).",
        "",
        "## Datasets",
        "",
        "| dataset | rows | variables | unit | description |",
        "|---|---:|---:|---|---|",
    ]
    for d in c.datasets:
        lines.append(
            f"| `{d.name}` | {d.rows:,} | {len(d.variables)} | {d.unit} | {d.description} |"
        )
    lines += [
        "",
        "Every variable, its source, its coarsening, its classes and the paragraph of the",
        "decision that allows it: `codebook/codebook.html` (also as `datapackage.json`, a",
        "Frictionless Data Package, and `codebook/ddi-codebook.xml`, DDI-Codebook 2.5).",
        "",
        "## Formats",
        "",
    ]
    example = _example_dataset(c)
    if "parquet" in formats:
        lines += [
            "- `parquet/<dataset>.parquet`: Apache Parquet, the reference copy. R:",
            "  `arrow::read_parquet()`; Python: `pandas.read_parquet()` or",
            "  `pyarrow.parquet.read_table()`; DuckDB:",
            f"  `SELECT * FROM 'parquet/{example}.parquet'`.",
        ]
    if "stata" in formats:
        lines += [
            f"- `stata/<dataset>.dta`: Stata 14 or later (format 118), `use stata/{example}.dta`.",
            "  Variable and value labels are set. Codes that are text in Parquet and CSV",
            "  (`'01'`, `'MAR+'`) are integers here: a whole-number code is that number",
            "  (`'02000'` is 2000), any other code is numbered 1, 2, ... in the codebook's",
            "  order; the codebook lists each code with its Stata integer. Quarters",
            "  (`'2012Q2'`) and months (`'2012-05'`) are Stata dates with display formats",
            "  `%tq` and `%tm` (quarters or months since 1960). R's `haven::read_dta()` reads",
            "  these as numbers with the attribute `format.stata`; as R dates:",
            "  `as.Date(sprintf('%d-%02d-01', 1960 + x %/% 4, 3 * (x %% 4) + 1))` for `%tq`,",
            "  `as.Date(sprintf('%d-%02d-01', 1960 + x %/% 12, x %% 12 + 1))` for `%tm`.",
        ]
    if "csv" in formats:
        lines += [
            "- `csv/<dataset>.csv`: UTF-8, comma-separated, header row, text values (codes)",
            "  in double quotes, empty field for a missing value. Read codes as text to keep",
            "  leading zeros (R:",
            "  `readr::read_csv(f, col_types = cols(.default = 'c'))`).",
        ]
    lines += [
        "",
        "## Other files",
        "",
        "- `scra/scra.html`, `scra/scra.json`: the small-cell risk analysis of this extract.",
        "- `spec.sha256`: the SHA-256 of the spec (the authorisation as code) it was built from.",
        "- `../manifest-sha256.txt`: the SHA-256 of every file; check with",
        "  `cd data/.. && sha256sum -c manifest-sha256.txt` (a BagIt bag).",
        "",
    ]
    return "\n".join(lines)
