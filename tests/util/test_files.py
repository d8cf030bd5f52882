"""Atomic writes: the file appears whole or not at all, never a temp file left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from rl_framework.util.files import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    atomic_write_with,
    require_existing_file,
)


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_atomic_write_bytes_creates_folders_and_replaces(tmp_path):
    target = tmp_path / "a" / "b" / "file.bin"
    assert atomic_write_bytes(target, b"one") == target
    assert target.read_bytes() == b"one"
    atomic_write_bytes(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert names(target.parent) == ["file.bin"]


def test_atomic_write_text_is_utf8(tmp_path):
    target = atomic_write_text(tmp_path / "note.txt", "Grüße ✓")
    assert target.read_bytes() == "Grüße ✓".encode()


def test_failing_writer_leaves_nothing_and_keeps_the_old_file(tmp_path):
    def half_then_fail(path: Path) -> None:
        path.write_bytes(b"half")
        raise RuntimeError("writer broke")

    with pytest.raises(RuntimeError, match="writer broke"):
        atomic_write_with(tmp_path / "new.bin", half_then_fail)
    assert names(tmp_path) == []
    (tmp_path / "old.bin").write_bytes(b"good")
    with pytest.raises(RuntimeError, match="writer broke"):
        atomic_write_with(tmp_path / "old.bin", half_then_fail)
    assert names(tmp_path) == ["old.bin"]
    assert (tmp_path / "old.bin").read_bytes() == b"good"


def test_atomic_write_with_lets_a_third_party_saver_write_a_path(tmp_path):
    assert atomic_write_with(tmp_path / "x.zip", lambda path: path.write_bytes(b"zip")) == tmp_path / "x.zip"
    assert (tmp_path / "x.zip").read_bytes() == b"zip"


def test_atomic_path_writes_to_a_hidden_temp_in_the_same_folder(tmp_path):
    with atomic_path(tmp_path / "f.txt") as temporary:
        assert temporary.parent == tmp_path
        assert temporary.name.startswith(".f.txt.") and temporary.name.endswith(".tmp")
        temporary.write_text("done")
        assert not (tmp_path / "f.txt").exists()  # nothing visible before the rename
    assert names(tmp_path) == ["f.txt"]


def test_unwritable_target_leaves_no_temp_file(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "taken", b"data")
    assert names(tmp_path) == ["taken"]
    (tmp_path / "plain").write_text("file, not folder")
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "plain" / "inner.bin", b"data")
    assert names(tmp_path) == ["plain", "taken"]


def test_interrupt_during_write_cleans_up(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "f.bin") as temporary:
        temporary.write_bytes(b"partial")
        raise KeyboardInterrupt
    assert names(tmp_path) == []


def test_require_existing_file(tmp_path):
    (tmp_path / "here.zip").write_bytes(b"x")
    assert require_existing_file(str(tmp_path / "here.zip")) == tmp_path / "here.zip"
    with pytest.raises(FileNotFoundError, match=r"No agent file at '.*gone\.zip'\. Check the path"):
        require_existing_file(tmp_path / "gone.zip", "agent file")
    with pytest.raises(FileNotFoundError, match="No file at"):
        require_existing_file(tmp_path)  # a folder is not a file
