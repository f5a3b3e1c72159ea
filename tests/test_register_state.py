"""Relation to the reference person and LIPRO position from household structure (S3, A6, B6)."""

from __future__ import annotations

import numpy as np

from sluis.domain.codelists import codelists
from sluis.synth.register_state import (
    LIPRO_CODES,
    NONE,
    REL_CODES,
    Structure,
    relation_and_lipro,
)

N = NONE
# person:        0  1  2  3  4  5  6  7  8  9 10 11 12 13
PARTNER = [1, 0, N, N, N, 6, 5, N, N, 10, 9, N, N, N]
UNION = [1, 1, 0, 0, 0, 3, 3, 0, 0, 2, 2, 0, 0, 0]
MOTHER = [N, N, 1, N, 3, N, N, N, N, N, N, 10, 13, N]
FATHER = [N, N, 0, N, N, N, N, N, N, N, N, N, N, N]
HOUSEHOLD = [0, 0, 0, 1, 1, 2, 2, 3, 4, 5, 5, 5, 6, 6]
REFERENCE = [0, 3, 5, 7, N, 9, 12]  # household 4 is collective
EXPECTED = [
    ("01", "MAR+"), ("02", "MAR+"), ("03", "CMAR"),  # married couple with a child
    ("01", "H1PA"), ("03", "C1PA"),  # one-parent family
    ("01", "UNM0"), ("12", "UNM0"),  # de facto couple: 'not related' in the register
    ("01", "SING"),  # alone
    ("20", "COLL"),  # collective household
    ("01", "UNM+"), ("21", "UNM+"), ("13", "CUNM"),  # legal cohabitants, her child
    ("01", "OTHR"), ("06", "OTHR"),  # a person living with their mother
]  # fmt: skip


def test_s3_relation_and_lipro_follow_the_household_structure() -> None:
    people = np.arange(len(PARTNER))
    hh = np.array(HOUSEHOLD)
    ref = np.array(REFERENCE)[hh]
    coll = hh == 4
    links = Structure(*(np.array(a) for a in (PARTNER, UNION, MOTHER, FATHER)))
    rel, lipro = relation_and_lipro(people, hh, ref, coll, links, len(REFERENCE))
    got = [(REL_CODES[r], LIPRO_CODES[x]) for r, x in zip(rel, lipro, strict=True)]
    assert got == EXPECTED


def test_s3_derived_codes_come_from_the_code_lists() -> None:
    assert set(REL_CODES) <= codelists()["relation"].codes
    assert set(LIPRO_CODES) == codelists()["lipro"].codes
