"""G3, B4, X3: project keys, sequence numbers of persons and households, pseudonymising."""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import stat
from pathlib import Path

import pyarrow as pa
import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sluis.cli.keys_cmd import keys_new
from sluis.engine import connect
from sluis.errors import SluisError
from sluis.pseudo import (
    KeyStoreError,
    ProjectKey,
    PseudonymisationError,
    distinct_ids,
    load_key,
    new_key,
    pseudonymise,
    sequence_numbers,
)

KEY_A = ProjectKey("25-074", bytes(range(32)))
KEY_B = ProjectKey("25-074", bytes(range(1, 33)))
INSZ = ["85073003328", "90010112345", "01022899911", "77120500072", "63041512387"]


@pytest.fixture(scope="module")
def engine():
    with connect(memory_limit="1GB", threads=1) as e:
        yield e


def _mapping(engine, ids, key=KEY_A, domain="person") -> dict:
    table = engine.arrow(pa.table({"id": pa.array(ids, pa.string())}))
    rows = engine.to_arrow(sequence_numbers(engine, table, key, domain)).to_pylist()
    return {row["id"]: row["seq"] for row in rows}


def _reference(ids, key=KEY_A, domain="person") -> dict:
    """The scheme in plain Python: rank of HMAC-SHA256(subkey, id), ties by id."""
    subkey = key.subkey(domain)
    distinct = {i for i in ids if i is not None}
    order = sorted(distinct, key=lambda i: (hmac.new(subkey, i.encode(), "sha256").digest(), i))
    return {i: n for n, i in enumerate(order, start=1)}


# -- sequence numbers ----------------------------------------------------------------------


def test_b4_sequence_numbers_are_the_hmac_rank_1_to_n(engine) -> None:
    ids = [*INSZ, INSZ[0], None]
    got = _mapping(engine, ids)
    assert sorted(got.values()) == list(range(1, len(INSZ) + 1))
    assert got == _reference(ids)
    assert None not in got


def test_x3_g3_sequence_numbers_are_deterministic(engine) -> None:
    assert _mapping(engine, INSZ) == _mapping(engine, list(reversed(INSZ)))


def test_g3_sequence_numbers_differ_per_key_and_project(engine) -> None:
    ids = [f"{n:011d}" for n in range(200)]
    a, b = _mapping(engine, ids, KEY_A), _mapping(engine, ids, KEY_B)
    other_project = ProjectKey("26-050", bytes(range(32)))  # the same bytes, copied
    c = _mapping(engine, ids, other_project)
    assert a != b and a != c
    assert sum(a[i] == b[i] for i in ids) < 20  # about 1 in 200 agree by chance


def test_b4_person_and_household_numbers_come_from_separate_domains(engine) -> None:
    ids = [f"H{n:06d}" for n in range(200)]
    person, household = _mapping(engine, ids), _mapping(engine, ids, domain="household")
    assert person != household
    assert KEY_A.subkey("person") != KEY_A.subkey("household")
    assert household == _reference(ids, domain="household")


def test_b4_integer_ids_are_numbered_in_their_text_form(engine) -> None:
    table = engine.arrow(pa.table({"hh": pa.array([30, 10, 20, None], pa.int64())}))
    rows = engine.to_arrow(sequence_numbers(engine, table, KEY_A, "household", "hh"))
    got = dict(zip(rows.column("id").to_pylist(), rows.column("seq").to_pylist(), strict=True))
    assert rows.schema.field("id").type == pa.int64()
    assert got == {int(k): v for k, v in _reference(["30", "10", "20"], domain="household").items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=12)), max_size=30),
    st.randoms(use_true_random=False),
)
def test_g3_mapping_is_a_bijection_invariant_to_order_and_duplicates(engine, ids, rnd) -> None:
    got = _mapping(engine, ids)
    distinct = {i for i in ids if i is not None}
    assert set(got) == distinct
    assert sorted(got.values()) == list(range(1, len(distinct) + 1))
    shuffled = [*ids, *ids[: len(ids) // 2]]
    rnd.shuffle(shuffled)
    assert _mapping(engine, shuffled) == got == _reference(ids)


# -- replacing identifiers -------------------------------------------------------------------


def _panel(engine):
    return engine.arrow(
        pa.table(
            {
                "insz": [INSZ[0], INSZ[0], INSZ[1], INSZ[2]],
                "quarter": ["2012Q1", "2012Q2", "2012Q1", "2012Q1"],
                "partner_insz": [INSZ[1], INSZ[1], INSZ[0], None],
                "household_id": ["h1", "h1", "h1", "h2"],
            }
        )
    )


def test_g3_pseudonymise_replaces_ids_and_references_with_one_mapping(engine) -> None:
    panel = _panel(engine)
    persons = sequence_numbers(
        engine, distinct_ids(panel.insz, panel.partner_insz), KEY_A, "person"
    )
    households = sequence_numbers(engine, panel, KEY_A, "household", "household_id")
    out = pseudonymise(
        engine,
        panel,
        {"insz": persons, "partner_insz": persons, "household_id": households},
    )
    assert out.columns == panel.columns
    rows = engine.to_arrow(out.order_by(["insz", "quarter"])).to_pylist()
    p, h = _reference(INSZ[:3]), _reference(["h1", "h2"], domain="household")
    want = [
        {"insz": p[i], "quarter": q, "partner_insz": p.get(r), "household_id": h[hh]}
        for i, q, r, hh in [
            (INSZ[0], "2012Q1", INSZ[1], "h1"),
            (INSZ[0], "2012Q2", INSZ[1], "h1"),
            (INSZ[1], "2012Q1", INSZ[0], "h1"),
            (INSZ[2], "2012Q1", None, "h2"),
        ]
    ]
    assert rows == sorted(want, key=lambda r: (r["insz"], r["quarter"]))
    # a partner's number is that partner's own number (one mapping for every reference)
    assert {r["partner_insz"] for r in rows} - {None} <= {r["insz"] for r in rows}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from([None, *INSZ]), st.sampled_from([None, *INSZ]))))
def test_g3_pseudonymise_keeps_equality_and_nulls(engine, pairs) -> None:
    table = engine.arrow(
        pa.table(
            {
                "row": pa.array(range(len(pairs)), pa.int64()),
                "insz": pa.array([a for a, _ in pairs], pa.string()),
                "ref": pa.array([b for _, b in pairs], pa.string()),
            }
        )
    )
    persons = sequence_numbers(engine, distinct_ids(table.insz, table.ref), KEY_A, "person")
    out = pseudonymise(engine, table, {"insz": persons, "ref": persons})
    rows = engine.to_arrow(out.order_by("row")).to_pylist()
    want = _reference([x for pair in pairs for x in pair])
    assert [(r["insz"], r["ref"]) for r in rows] == [(want.get(a), want.get(b)) for a, b in pairs]


def test_g3_unmapped_ids_raise_with_column_and_count(engine) -> None:
    panel = _panel(engine)
    persons = sequence_numbers(engine, panel, KEY_A, "person", "insz")  # misses no one...
    only_two = persons.filter(persons.id != INSZ[2])  # ...until one person is dropped
    with pytest.raises(
        PseudonymisationError, match="without a sequence number: 'insz': 1 value in 1 row \\("
    ) as err:
        pseudonymise(engine, panel, {"insz": only_two})
    assert err.value.column == "insz" and err.value.rule == "unmapped-id"
    one = sequence_numbers(engine, panel.filter(panel.insz == INSZ[2]), KEY_A, "person", "insz")
    with pytest.raises(
        PseudonymisationError, match="'insz': 1 value in 1 row; 'partner_insz': 2 values in 3 rows"
    ):
        pseudonymise(engine, panel, {"insz": only_two, "partner_insz": one})


def test_g3_pseudonymise_refuses_wrong_columns_and_types(engine) -> None:
    panel = _panel(engine)
    ints = sequence_numbers(engine, engine.arrow(pa.table({"id": [1, 2]})), KEY_A, "person")
    with pytest.raises(PseudonymisationError, match="string"):
        pseudonymise(engine, panel, {"insz": ints})
    with pytest.raises(PseudonymisationError, match="'nope'"):
        pseudonymise(engine, panel, {"nope": ints})


# -- the key store -----------------------------------------------------------------------------


def test_g3_new_key_is_owner_only_and_loads(tmp_path: Path) -> None:
    store = tmp_path / "pseudonymiser" / "keys"
    path = new_key(store, "25-074")
    assert path == store / "25-074.key"
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(store)) == ["25-074.key"]  # no temporary file left
    key = load_key(store, "25-074")
    assert key == load_key(store, "25-074") and key.project == "25-074"
    assert key != load_key(store, new_key(store, "26-050").stem)


def test_g3_new_key_never_replaces_a_key(tmp_path: Path) -> None:
    path = new_key(tmp_path / "keys", "25-074")
    before = path.read_bytes()
    with pytest.raises(KeyStoreError, match="never replaced") as err:
        new_key(tmp_path / "keys", "25-074")
    assert err.value.file == str(path) and str(path) in str(err.value)
    assert path.read_bytes() == before


def test_g3_key_store_refused_inside_delivery_or_staging(tmp_path: Path) -> None:
    delivery, staging = tmp_path / "delivery", tmp_path / "staging"
    for store in (delivery / "keys", staging, staging / "a" / "b"):
        with pytest.raises(KeyStoreError, match="must not be inside") as err:
            new_key(store, "25-074", forbidden=[delivery, staging])
        assert err.value.rule == "key-store-forbidden"
        assert not store.exists()
    new_key(tmp_path / "keys", "25-074", forbidden=[delivery, staging])
    with pytest.raises(KeyStoreError, match="must not be inside"):
        load_key(tmp_path / "keys", "25-074", forbidden=[tmp_path])


def test_g3_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = new_key(tmp_path / "keys", "25-074")
    path.chmod(0o640)
    with pytest.raises(KeyStoreError, match="group or others") as err:
        load_key(tmp_path / "keys", "25-074")
    assert err.value.rule == "key-permissions" and "chmod 600" in str(err.value)
    path.chmod(0o600)
    (tmp_path / "keys").chmod(0o755)
    with pytest.raises(KeyStoreError, match="key store is accessible"):
        load_key(tmp_path / "keys", "25-074")
    with pytest.raises(KeyStoreError, match="key store is accessible"):
        new_key(tmp_path / "keys", "26-050")


def test_g3_key_files_are_checked(tmp_path: Path) -> None:
    store = tmp_path / "keys"
    with pytest.raises(KeyStoreError, match="no key for project 25-074") as err:
        load_key(store, "25-074")
    assert "sluis keys new" in str(err.value)
    new_key(store, "25-074")
    (store / "25-074.key").rename(store / "26-050.key")  # copied or renamed by hand
    with pytest.raises(KeyStoreError, match="made for project 25-074"):
        load_key(store, "26-050")
    (store / "x.key").write_text("hello\n")
    (store / "x.key").chmod(0o600)
    with pytest.raises(KeyStoreError, match="not a sluis project key"):
        load_key(store, "x")


@pytest.mark.parametrize("project", ["25/074", "", "Project", "-x", "a b", "../x", "a.key"])
def test_g3_project_ids_are_validated(tmp_path: Path, project: str) -> None:
    with pytest.raises(KeyStoreError, match="invalid project id"):
        new_key(tmp_path / "keys", project)
    assert not (tmp_path / "keys").exists()


def test_g3_the_key_never_appears_in_text(tmp_path: Path, engine) -> None:
    store = tmp_path / "keys"
    path = new_key(store, "25-074")
    key = load_key(store, "25-074")
    secret = bytes.fromhex(path.read_text().splitlines()[-1].removeprefix("key "))
    texts = [repr(key), str(key), f"{key}", repr([key]), repr({"k": key})]
    assert key.fingerprint == hashlib.sha256(secret).hexdigest()[:16]
    assert all(key.fingerprint in t for t in texts[:3])
    with pytest.raises(KeyStoreError) as err:
        new_key(store, "25-074")
    texts.append(str(err.value))
    with pytest.raises(TypeError):
        pickle.dumps(key)
    result = CliRunner().invoke(_app(), ["new", "--store", str(store), "--project", "26-050"])
    texts.append(result.output)
    forms = [secret.hex(), secret.hex().upper(), secret.hex()[:16], str(secret), repr(secret)]
    for text in texts:
        assert not any(form in text for form in forms), text
    assert key.subkey("person").hex() not in repr(key)


# -- the command --------------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    app.command("new")(keys_new)

    @app.command("other")
    def other() -> None:  # a second command keeps "new" as a sub-command name
        """Nothing."""

    return app


def test_g3_keys_new_command_prints_where_and_fingerprint(tmp_path: Path) -> None:
    store = tmp_path / "keys"
    args = ["new", "--store", str(store), "--project", "25-074"]
    result = CliRunner().invoke(_app(), args)
    assert result.exit_code == 0, result.output
    key = load_key(store, "25-074")
    assert result.output.strip() == (
        f"created the key of project 25-074 in {store / '25-074.key'} "
        f"(fingerprint {key.fingerprint})"
    )
    again = CliRunner().invoke(_app(), args)
    assert isinstance(again.exception, SluisError) and "never replaced" in str(again.exception)
    assert load_key(store, "25-074") == key
    helped = CliRunner().invoke(_app(), ["new", "--help"])
    assert "Example: sluis keys new" in helped.output
