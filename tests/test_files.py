"""Atomic writes: complete files only, and the mode a plain ``open()`` would give."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from callqa.files import atomic_path, atomic_write_text, current_umask


@pytest.fixture()
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_follow_the_umask(tmp_path: Path, umask: None) -> None:
    """Not the temp file's private 0600: 0644 under umask 022, 0600 under 077."""
    assert current_umask() == 0o022
    assert mode(atomic_write_text(tmp_path / "a.json", "{}")) == 0o644
    os.umask(0o077)
    assert mode(atomic_write_text(tmp_path / "b.json", "{}")) == 0o600
    os.umask(0o002)
    assert mode(atomic_write_text(tmp_path / "c.json", "{}")) == 0o664


def test_a_replaced_file_keeps_its_mode(tmp_path: Path, umask: None) -> None:
    path = tmp_path / "card.json"
    path.write_text("old")
    path.chmod(0o640)
    atomic_write_text(path, "new")
    assert path.read_text() == "new" and mode(path) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]  # no temp file left


def test_atomic_path_renames_on_success_and_cleans_up_on_failure(
    tmp_path: Path, umask: None
) -> None:
    """A writer given a file name: the destination appears whole with the umask's mode, or,
    when the writer fails, stays as it was and no temp file is left."""
    path = tmp_path / "copy.wav"
    with atomic_path(path) as tmp:
        assert tmp.parent == tmp_path and not path.exists()
        tmp.write_bytes(b"new")
    assert path.read_bytes() == b"new" and mode(path) == 0o644
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("encoder failed")
    assert path.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["copy.wav"]
