"""The source contract, part 2: the education registers of the communities (A8, A13).

The Flemish Community (Departement Onderwijs, with the higher-education database) and the
Federation Wallonia-Brussels keep different detail: the Flemish register has study areas,
ISCED fields and scholarships at every level; the Federation's has its own level and
orientation codes, fields for higher education only and no scholarship flag for pupils.
Foreign higher-education diplomas appear where a community recognised them (NARIC).
"""

from __future__ import annotations

from sluis.sources.schema import Column, Table, flag
from sluis.sources.time import Obtained, SchoolYear

VL = "Flemish Community education register"
FWB = "Federation Wallonia-Brussels education register"

_PERSON = Column("insz", "insz", "Person.")
_YEAR = Column(
    "school_year", "int", "Start year of the school year (2000 = 2000-2001).", serves=("A8", "A13")
)


def _code(name: str, description: str, codelist: str, nullable: bool = False) -> Column:
    return Column(name, "code", description, nullable, codelist, serves=("A8", "A13"))


VL_ENROLMENT = Table(
    name="education_vl_enrolment",
    register=VL,
    description="One row per pupil or student per school year (enrolled on 1 October).",
    key=("insz", "school_year"),
    time=SchoolYear(),
    columns=(
        _PERSON,
        _YEAR,
        _code("level", "Level and form of education.", "edu_vl_level"),
        _code("study_area", "Study area (higher education) or orientation.", "edu_vl_area", True),
        _code("field", "Field of study (ISCED-F broad field).", "isced_field", True),
        flag("scholarship", "Receives a study or school allowance.", ("A8", "A13")),
    ),
)

VL_DIPLOMA = Table(
    name="education_vl_diploma",
    register=VL,
    description=(
        "One row per diploma obtained or recognised (NARIC Vlaanderen for foreign higher "
        "education diplomas)."
    ),
    key=("insz", "diploma_year", "level"),
    time=Obtained("diploma_year"),
    columns=(
        _PERSON,
        Column("diploma_year", "int", "Year the diploma was obtained.", serves=("A8", "A13")),
        _code("level", "Level of the diploma.", "edu_vl_level"),
        _code("category", "Diploma category.", "edu_diploma_category"),
        _code("field", "Field of study (ISCED-F broad field).", "isced_field", True),
        Column(
            "country",
            "code",
            "Country where a higher-education diploma was obtained.",
            codelist="country",
            serves=("A8", "A13"),
        ),
        flag("access_diploma", "The diploma gives access to higher education.", ("A8", "A13")),
    ),
)

FWB_ENROLMENT = Table(
    name="education_fwb_enrolment",
    register=FWB,
    description="One row per pupil or student per school year (enrolled on 15 January).",
    key=("insz", "school_year"),
    time=SchoolYear(),
    columns=(
        _PERSON,
        _YEAR,
        _code("level", "Niveau d'enseignement.", "edu_fwb_level"),
        _code("domain", "Domaine d'études (higher education only).", "isced_field", True),
        flag("scholarship", "Allocation d'études (higher education only).", ("A8", "A13"), True),
    ),
)

FWB_DIPLOMA = Table(
    name="education_fwb_diploma",
    register=FWB,
    description="One row per certificate or diploma obtained or recognised (équivalence).",
    key=("insz", "diploma_year", "level"),
    time=Obtained("diploma_year"),
    columns=(
        _PERSON,
        Column("diploma_year", "int", "Year obtained.", serves=("A8", "A13")),
        _code("level", "Niveau.", "edu_fwb_level"),
        _code("category", "Diploma category.", "edu_diploma_category"),
        Column(
            "country",
            "code",
            "Country where the diploma was obtained.",
            codelist="country",
            serves=("A8", "A13"),
        ),
        flag("access_diploma", "The diploma gives access to higher education.", ("A8", "A13")),
    ),
)

EDUCATION_TABLES: tuple[Table, ...] = (VL_ENROLMENT, VL_DIPLOMA, FWB_ENROLMENT, FWB_DIPLOMA)
