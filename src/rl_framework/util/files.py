"""Atomic file and folder writing: a save either completes or leaves the old content untouched."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(file_path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto ``file_path``.

    If the body raises, the temporary file is removed and ``file_path`` is left as it was,
    so a failed save never leaves a half-written file behind.

    :param file_path: the final destination; its parent folder is created if needed.
    :return: (yielded) the temporary path the caller must write to.
    """
    target = Path(file_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(temporary_name)
    try:
        yield temporary
        # mkstemp creates 0600 files; give the result the permissions a plain open() would have.
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(file_path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``file_path`` atomically (temp file in the same folder, then rename).

    :param file_path: destination path.
    :param data: the complete file content.
    :return: the destination as a ``Path``.
    """
    with atomic_path(file_path) as temporary:
        temporary.write_bytes(data)
    return Path(file_path)


def atomic_write_text(file_path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``file_path`` atomically.

    :param file_path: destination path.
    :param text: the complete file content.
    :return: the destination as a ``Path``.
    """
    return atomic_write_bytes(file_path, text.encode("utf-8"))


def atomic_write_with(file_path: str | os.PathLike[str], writer: Callable[[Path], object]) -> Path:
    """Let ``writer`` write a temporary path, then move it onto ``file_path`` atomically.

    Use this for third-party savers that insist on writing a path themselves.

    :param file_path: destination path.
    :param writer: called with the temporary path; must write the whole file there.
    :return: the destination as a ``Path``.
    """
    with atomic_path(file_path) as temporary:
        writer(temporary)
    return Path(file_path)


def require_existing_file(file_path: str | os.PathLike[str], what: str = "file") -> Path:
    """Return ``file_path`` as a ``Path`` or raise ``FileNotFoundError`` naming it.

    :param file_path: the path to check.
    :param what: what the file is, for the message (e.g. "agent file").
    :return: the path.
    """
    path = Path(file_path)
    if not path.is_file():
        raise FileNotFoundError(f"No {what} at '{path}'. Check the path (or save/download the {what} first).")
    return path


@contextlib.contextmanager
def atomic_directory(
    folder: str | os.PathLike[str], may_replace: Callable[[Path], bool], kind: str = "a folder of this kind"
) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``folder``; on success it replaces ``folder``.

    Like ``atomic_path`` for a whole folder: if the body raises, the temporary folder is deleted
    and ``folder`` is left as it was. An existing ``folder`` is replaced only when
    ``may_replace(folder)`` says so, so a wrong path can never wipe unrelated files.

    :param folder: the final folder; its parent is created if needed.
    :param may_replace: decides whether an existing ``folder`` may be replaced.
    :param kind: what ``may_replace`` accepts, for the message (e.g. "a trajectory dataset").
    :return: (yielded) the temporary folder the caller must fill.
    :raises ValueError: if ``folder`` is a file, or an existing folder that ``may_replace`` refuses.
    """
    target = Path(folder)
    if target.exists() and not (target.is_dir() and may_replace(target)):
        what = "a file" if target.is_file() else f"a folder that is not {kind}"
        raise ValueError(f"Refusing to overwrite '{target}': it is {what}. Choose a new folder path.")
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield temporary
        _swap_into_place(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _swap_into_place(temporary: Path, target: Path) -> None:
    """Rename ``temporary`` onto ``target``; an old ``target`` is moved aside first and removed after."""
    if not target.exists():
        os.replace(temporary, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    retired.rmdir()  # only the unique name is needed: rename refuses to replace a non-empty folder
    os.replace(target, retired)
    try:
        os.replace(temporary, target)
    except BaseException:
        os.replace(retired, target)
        raise
    shutil.rmtree(retired, ignore_errors=True)
