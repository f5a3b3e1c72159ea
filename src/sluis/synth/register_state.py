"""Relation to the reference person and LIPRO position, derived from household structure
(S3; REFERENCE.md §3).

The National Register records, per person, the household and the relation to its reference
person; KSZ derives the LIPRO position from that with the CBGS rules. The generator knows
the true structure (partners, parents, union type), so it derives both codes from it, the
way a register clerk would record them: de facto partners are ``12`` (not related), as the
register does not know them, while LIPRO still places them in an unmarried couple.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REL_CODES = ("01", "02", "03", "04", "05", "06", "09", "12", "13", "20", "21")
R = {code: i for i, code in enumerate(REL_CODES)}
LIPRO_CODES = (
    "SING", "MAR0", "MAR+", "CMAR", "UNM0", "UNM+", "CUNM", "H1PA", "C1PA", "NFRP", "OTHR", "COLL"
)  # fmt: skip
L = {code: i for i, code in enumerate(LIPRO_CODES)}
NONE = -1
MARRIED, LEGAL = 1, 2  # union types (0 none, 3 de facto)


@dataclass(frozen=True)
class Structure:
    """Who is linked to whom, for every person (index = person number; NONE = nobody)."""

    partner: np.ndarray
    union: np.ndarray  # union type with the partner
    mother: np.ndarray
    father: np.ndarray


def take(arr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``arr[idx]`` with NONE where ``idx`` is NONE."""
    return np.where(idx >= 0, arr[np.maximum(idx, 0)], NONE)


def relation_and_lipro(
    people: np.ndarray,
    hh: np.ndarray,
    ref: np.ndarray,
    coll: np.ndarray,
    links: Structure,
    n_households: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Relation code index (into REL_CODES) and LIPRO index (into LIPRO_CODES) of ``people``.

    ``hh`` is each person's household, ``ref`` its reference person, ``coll`` whether it is
    a collective household. Every member of a household in ``hh`` must be in ``people``:
    household sizes and children at home are counted from them.
    """
    partner, union = links.partner[people], links.union[people]
    mother, father = links.mother[people], links.father[people]
    has_ref = ref >= 0
    ref_partner = take(links.partner, ref)
    is_ref = people == ref
    is_partner = has_ref & (partner == ref)
    is_child = has_ref & ((mother == ref) | (father == ref))
    is_step = ~is_child & (ref_partner >= 0) & ((mother == ref_partner) | (father == ref_partner))
    grand = has_ref & (
        (take(links.mother, mother) == ref)
        | (take(links.father, mother) == ref)
        | (take(links.mother, father) == ref)
        | (take(links.father, father) == ref)
    )
    parent = has_ref & ((take(links.mother, ref) == people) | (take(links.father, ref) == people))
    inlaw = (partner >= 0) & (
        (take(links.mother, partner) == ref) | (take(links.father, partner) == ref)
    )
    sibling = has_ref & (
        ((mother >= 0) & (mother == take(links.mother, ref)))
        | ((father >= 0) & (father == take(links.father, ref)))
    )
    rel = np.full(len(people), R["12"], dtype=np.int8)
    rel[sibling] = R["09"]
    rel[inlaw] = R["04"]
    rel[parent] = R["06"]
    rel[grand] = R["05"]
    rel[is_step] = R["13"]
    rel[is_child] = R["03"]
    rel[is_partner] = np.select(
        [union[is_partner] == MARRIED, union[is_partner] == LEGAL], [R["02"], R["21"]], R["12"]
    )
    rel[is_ref] = R["01"]
    rel[coll] = R["20"]

    size = np.bincount(hh, minlength=n_households)
    kid = (is_child | is_step) & ~coll
    kids = np.bincount(hh[kid], minlength=n_households)[hh]
    couple_type = np.zeros(n_households, dtype=np.int8)
    couple_type[hh[is_partner]] = union[is_partner]
    ct = couple_type[hh]
    in_couple = (is_ref | is_partner) & (ct > 0)
    married = ct == MARRIED
    lipro = np.full(len(people), L["OTHR"], dtype=np.int8)
    lipro[rel == R["12"]] = L["NFRP"]
    lipro[is_ref & (ct == 0) & (kids > 0)] = L["H1PA"]
    lipro[kid & (ct == 0)] = L["C1PA"]
    lipro[kid & married] = L["CMAR"]
    lipro[kid & (ct > MARRIED)] = L["CUNM"]
    lipro[in_couple & married] = np.where(kids[in_couple & married] > 0, L["MAR+"], L["MAR0"])
    lipro[in_couple & ~married] = np.where(kids[in_couple & ~married] > 0, L["UNM+"], L["UNM0"])
    lipro[size[hh] == 1] = L["SING"]
    lipro[coll] = L["COLL"]
    return rel, lipro
