"""Atomic file and folder writing: a save either completes or leaves the old content untouched."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

try:  # POSIX: a live writer holds a lock on its temporary file, so only a dead writer's is removed
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: A temporary file younger than this is never treated as left over (covers the instant between
#: its creation and its lock); without file locks (Windows) the age alone decides, so it is longer.
STALE_AFTER_SECONDS = 2.0 if fcntl is not None else 3600.0


@contextlib.contextmanager
def atomic_path(file_path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success rename it onto ``file_path``.

    If the body raises, the temporary file is removed and ``file_path`` is left as it was,
    so a failed save never leaves a half-written file behind. Temporary files that a killed
    process left beside the target (``.<name>.*.tmp``) are removed first.

    :param file_path: the final destination; its parent folder is created if needed.
    :return: (yielded) the temporary path the caller must write to.
    :raises PermissionError: if ``file_path`` exists and is read-only (it is never replaced).
    :raises IsADirectoryError: if ``file_path`` is a folder.
    """
    target = Path(file_path)
    check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    handle, temporary_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    temporary = Path(temporary_name)
    try:
        _lock(handle)  # held until the rename: tells other processes this temporary file is alive
        yield temporary
        # mkstemp creates 0600 files; give the result the permissions a plain open() would have.
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        os.close(handle)


def check_replaceable(target: Path) -> None:
    """Raise if ``target`` exists but must not be replaced by a save: a folder, or a read-only file.

    The write bits are read from the file mode (not ``os.access``), so a file made read-only
    with ``chmod a-w`` is refused for every user, root included.

    :param target: the path a save is about to replace.
    :raises IsADirectoryError: if ``target`` is a folder.
    :raises PermissionError: if ``target`` is a read-only file.
    """
    if target.is_dir():
        raise IsADirectoryError(f"Cannot save to '{target}': it is a folder. Give a file path inside it instead.")
    if target.is_file():
        mode = stat.S_IMODE(target.stat().st_mode)
        if mode & 0o222 == 0 or not os.access(target, os.W_OK):
            raise PermissionError(
                f"Refusing to replace '{target}': the file is read-only (someone protected it). Make it writable "
                f"(chmod u+w '{target}') if it may be replaced, or save to another path."
            )


def remove_stale_temporaries(target: Path) -> list[Path]:
    """Remove temporary files and folders (``.<name>.*.tmp``) a killed writer left beside ``target``.

    A temporary is removed only when no process holds its lock (POSIX) and it is older than
    ``STALE_AFTER_SECONDS``, so a concurrent save of the same target is never disturbed.

    :param target: the file or folder about to be written.
    :return: the removed paths.
    """
    pattern = os.path.join(glob.escape(str(target.parent)), f".{glob.escape(target.name)}.*.tmp")
    removed = []
    for name in glob.glob(pattern):
        path = Path(name)
        try:
            if time.time() - path.lstat().st_mtime < STALE_AFTER_SECONDS or _in_use(path):
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError:
            continue  # vanished meanwhile, or not ours to remove: leave it
    return removed


def _lock(handle: int) -> None:
    if fcntl is not None:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _in_use(path: Path) -> bool:
    """Whether a live process holds the lock of the temporary ``path`` (never, without file locks)."""
    if fcntl is None:
        return False
    handle = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(handle)  # closing releases a lock we took
    return False


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
    remove_stale_temporaries(target)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    handle = os.open(temporary, os.O_RDONLY) if fcntl is not None else None  # Windows cannot open folders
    try:
        if handle is not None:
            _lock(handle)
        yield temporary
        _swap_into_place(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    finally:
        if handle is not None:
            os.close(handle)


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
