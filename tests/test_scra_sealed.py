"""``sluis scra --staged`` on a staged extract that a delivery (or an enclave build) sealed
at rest (G5, G9, B10; issue 18): it reads the extract through the vault with the run's key
store and gives the same figures as on the plaintext; the report names the extract, not
the private copy; once the data key is destroyed it refuses with a one-line error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sluis.cli.app import app
from sluis.errors import SluisError
from sluis.flow.retain import held_place, opened_held
from sluis.retain import vault
from sluis.spec import load_spec
from test_scra_spec import SPEC_25_074, stage_25_074


def _scra(staged: Path, out: Path):
    argv = ["scra", "--spec", str(SPEC_25_074), "--staged", str(staged), "--out", str(out)]
    return CliRunner().invoke(app, argv)


def _figures(out: Path) -> dict:
    """scra.json without what names folders or takes time."""
    data = json.loads((out / "scra.json").read_text())
    for name in ("staged", "out", "seconds"):
        data.pop(name)
    for dataset in data["datasets"]:  # under --out: differ by that folder only
        dataset["treated_file"] = Path(dataset["treated_file"] or "").name
    return data


def test_g5_g9_scra_reads_a_sealed_staged_extract_through_the_vault(tmp_path: Path) -> None:
    home = tmp_path / "W" / "ksz"
    staged = stage_25_074(load_spec(SPEC_25_074), home / "staged")
    plain = _scra(staged, tmp_path / "plain")
    store = home / "keys"
    key_id = vault.new_data_key(store)
    vault.seal_tree(staged, store=store, key_id=key_id, purpose="staged")
    assert not [p for p in staged.iterdir() if p.suffix != vault.SUFFIX]
    sealed = _scra(staged, tmp_path / "sealed")
    assert sealed.exit_code == plain.exit_code, (sealed.output, sealed.exception)
    assert _figures(tmp_path / "sealed") == _figures(tmp_path / "plain")
    assert json.loads((tmp_path / "sealed" / "scra.json").read_text())["staged"] == str(staged)
    treated = sorted(p.name for p in (tmp_path / "sealed" / "staged").iterdir())
    assert treated == sorted(p.name for p in (tmp_path / "plain" / "staged").iterdir())
    for name in treated:  # the same treated bytes
        same = (tmp_path / "plain" / "staged" / name).read_bytes()
        assert (tmp_path / "sealed" / "staged" / name).read_bytes() == same, name
    assert held_place(staged) == (home.resolve(), "staged")
    assert held_place(home / "scra" / "staged") == (home.resolve(), "treated")
    # the data key destroyed: a one-line refusal naming the rule, nothing measured
    vault.destroy_data_key(store, key_id)
    gone = _scra(staged, tmp_path / "gone")
    assert isinstance(gone.exception, vault.VaultError)
    assert gone.exception.rule == "vault-key-missing"
    assert not (tmp_path / "gone" / "scra.json").exists()


def test_g9_a_sealed_copy_outside_a_workspace_is_named(tmp_path: Path) -> None:
    """A sealed folder moved elsewhere: its purpose (bound into every chunk) is unknown,
    and the error says so rather than a failed decryption."""
    home = tmp_path / "W" / "ksz"
    staged = stage_25_074(load_spec(SPEC_25_074), home / "staged", persons=20)
    key_id = vault.new_data_key(home / "keys")
    vault.seal_tree(staged, store=home / "keys", key_id=key_id, purpose="staged")
    moved = shutil.copytree(staged, tmp_path / "elsewhere")
    with pytest.raises(SluisError) as err, opened_held(moved):
        pass
    assert err.value.rule == "vault-purpose"
