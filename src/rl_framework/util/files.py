"""Atomic file writing: the one place in the library that puts bytes on disk."""

from __future__ import annotations

import contextlib
import os
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
