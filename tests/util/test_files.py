"""Atomic writes: the file appears whole or not at all, never a temp file left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from rl_framework.util.files import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    atomic_write_with,
    remove_stale_temporaries,
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


def test_read_only_target_is_refused_and_kept(tmp_path):
    target = tmp_path / "protected.zip"
    target.write_bytes(b"keep me")
    target.chmod(0o444)
    with pytest.raises(
        PermissionError, match=r"Refusing to replace '.*protected\.zip': the file is read-only.*chmod u\+w"
    ):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"keep me" and names(tmp_path) == ["protected.zip"]


def test_folder_target_is_refused_before_writing(tmp_path):
    (tmp_path / "agent.zip").mkdir()
    with pytest.raises(IsADirectoryError, match=r"Cannot save to '.*agent\.zip': it is a folder"):
        atomic_write_bytes(tmp_path / "agent.zip", b"data")
    assert names(tmp_path) == ["agent.zip"]


def test_temporaries_of_a_killed_writer_are_removed_on_the_next_write(tmp_path):
    import os

    stale_file = tmp_path / ".agent.zip.abc123.tmp"
    stale_folder = tmp_path / ".agent.zip.def456.tmp"
    stale_file.write_bytes(b"half of a save")
    stale_folder.mkdir()
    (stale_folder / "part").write_bytes(b"x")
    other = tmp_path / ".other.zip.abc123.tmp"  # another target's: not touched
    other.write_bytes(b"x")
    for path in (stale_file, stale_folder, other):
        os.utime(path, (1, 1))  # long ago: its writer is gone
    atomic_write_bytes(tmp_path / "agent.zip", b"complete")
    assert names(tmp_path) == [".other.zip.abc123.tmp", "agent.zip"]


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    import os

    with atomic_path(tmp_path / "agent.zip") as live:
        live.write_bytes(b"in progress")
        os.utime(live, (1, 1))  # old, but its writer (this block) still holds the lock
        assert remove_stale_temporaries(tmp_path / "agent.zip") == []
        assert live.exists()
    assert names(tmp_path) == ["agent.zip"]
