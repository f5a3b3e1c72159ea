"""Sealing at rest for crypto-shredding (G9, B10; issue 18 item 2): chunked AES-256-GCM under
a data key of the party's key store. Round trips of any content and size, and every change
an attacker or a broken disk could make (a flipped byte, a cut-off file, chunks swapped, a
file renamed, another purpose) is refused; without the key nothing opens."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sluis.retain import vault
from sluis.retain.vault import CHUNK, HEADER_BYTES, TAG_BYTES, VaultError

SMALL = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _sealed(tmp_path: Path, files: dict[str, bytes], purpose: str = "staged") -> tuple:
    store, folder = tmp_path / "keys", tmp_path / "held"
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    key_id = vault.new_data_key(store)
    vault.seal_tree(folder, store=store, key_id=key_id, purpose=purpose)
    return store, folder, key_id


def _read(folder: Path, store: Path, tmp_path: Path, purpose: str = "staged") -> dict:
    with vault.opened(folder, store=store, purpose=purpose, work=tmp_path) as plain:
        assert stat.S_IMODE(plain.stat().st_mode) == 0o700
        return {
            p.relative_to(plain).as_posix(): p.read_bytes() for p in plain.rglob("*") if p.is_file()
        }


@SMALL
@given(
    sizes=st.lists(
        st.sampled_from([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 7]), min_size=1, max_size=3
    ),
    seed=st.binary(min_size=1, max_size=64),
)
def test_g9_sealed_files_open_to_the_same_bytes_and_no_plaintext_is_left(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int], seed: bytes
) -> None:
    tmp_path = tmp_path_factory.mktemp("vault")
    files = {
        f"d{i}/f{i}.bin": (seed * (size // len(seed) + 1))[:size] for i, size in enumerate(sizes)
    }
    store, folder, _ = _sealed(tmp_path, files)
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert on_disk == sorted(f"{n}.sealed" for n in files)
    for name, data in files.items():
        sealed = (folder / f"{name}.sealed").read_bytes()
        chunks = max(1, -(-len(data) // CHUNK))
        assert len(sealed) == HEADER_BYTES + len(data) + chunks * TAG_BYTES
        if len(data) >= 16:
            assert data[:16] not in sealed
    assert _read(folder, store, tmp_path) == files


def test_g9_the_private_folder_is_removed_after_use_and_after_a_killed_process(
    tmp_path: Path,
) -> None:
    store, folder, _ = _sealed(tmp_path, {"a.parquet": b"x" * 100})
    with vault.opened(folder, store=store, purpose="staged", work=tmp_path) as plain:
        assert (plain / "a.parquet").read_bytes() == b"x" * 100
        where = plain
    assert not where.exists()
    # a folder left by a process that no longer runs (kill -9) goes on the next open
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    base = where.parent
    left = base / f"{dead}-leftover"
    left.mkdir()
    (left / "a.parquet").write_bytes(b"plaintext")
    with vault.opened(folder, store=store, purpose="staged", work=tmp_path):
        assert not left.exists()


@pytest.mark.parametrize("change", ["flip", "cut", "swap", "drop-last", "append"])
def test_g9_a_changed_sealed_file_is_refused(tmp_path: Path, change: str) -> None:
    data = os.urandom(3 * CHUNK + 5)
    store, folder, _ = _sealed(tmp_path, {"panel.parquet": data})
    path = folder / "panel.parquet.sealed"
    raw = bytearray(path.read_bytes())
    step = CHUNK + TAG_BYTES
    body = raw[HEADER_BYTES:]
    if change == "flip":
        raw[HEADER_BYTES + 10] ^= 1
    elif change == "cut":  # whole chunks cut off: the new last chunk was not sealed as last
        raw = raw[: HEADER_BYTES + 2 * step]
    elif change == "swap":
        raw = raw[:HEADER_BYTES] + body[step : 2 * step] + body[:step] + body[2 * step :]
    elif change == "drop-last":
        raw = raw[: HEADER_BYTES + 3 * step]
    else:
        raw += body[:step]
    path.write_bytes(bytes(raw))
    with pytest.raises(VaultError) as err:
        _read(folder, store, tmp_path)
    assert err.value.rule == "vault-tampered" and "panel.parquet.sealed" in str(err.value)


def test_g9_a_renamed_file_or_another_purpose_does_not_open(tmp_path: Path) -> None:
    store, folder, _ = _sealed(tmp_path, {"a.parquet": b"a" * 50, "b.parquet": b"b" * 50})
    with pytest.raises(VaultError, match="does not authenticate"):
        _read(folder, store, tmp_path, purpose="treated")
    a, b = folder / "a.parquet.sealed", folder / "b.parquet.sealed"
    a.rename(folder / "tmp")
    b.rename(a)
    (folder / "tmp").rename(b)
    with pytest.raises(VaultError, match="does not authenticate"):
        _read(folder, store, tmp_path)


def test_g9_without_the_data_key_nothing_opens_and_the_key_is_owner_only(
    tmp_path: Path,
) -> None:
    store, folder, key_id = _sealed(tmp_path, {"a.parquet": b"a" * 50})
    key = vault.key_file(store, key_id)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.stat().st_mode) == 0o700
    assert vault.held_key(folder) == key_id
    assert vault.destroy_data_key(store, key_id) is True
    assert not key.exists() and vault.destroy_data_key(store, key_id) is False
    with pytest.raises(VaultError) as err:
        _read(folder, store, tmp_path)
    assert err.value.rule == "vault-key-missing"
    # another key does not open it either
    other = vault.new_data_key(store)
    os.rename(vault.key_file(store, other), key)
    text = key.read_text().replace(other, key_id)
    key.write_text(text)
    with pytest.raises(VaultError):
        _read(folder, store, tmp_path)


def test_g9_an_unsealed_folder_is_read_where_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "staged"
    folder.mkdir()
    (folder / "a.parquet").write_bytes(b"a")
    with vault.opened(folder, store=tmp_path / "keys", purpose="staged", work=tmp_path) as plain:
        assert plain == folder
