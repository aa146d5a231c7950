"""Writing a file so that a reader never sees half of it: the one atomic writer of the package.

`render` (pictures), `to_html` (the stepper page), `Module.save` (weights) and the CLI's ``--plot``
all write through `write_atomically`, so they share one answer to "what if the disk fills up".
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time

try:
    import fcntl  # POSIX: a writer locks its temporary file, so a later write can tell a dead one
except ImportError:  # Windows: stale temporary files are left alone
    fcntl = None  # type: ignore[assignment]

__all__ = ["resolve", "write_atomically"]


def write_atomically(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write `data` (text is written as UTF-8, newlines as given) to `path`, all or nothing.

    The bytes go to a temporary file beside the file, are flushed to disk, and the temporary file
    then replaces it in one step: a reader sees the old file or the whole new one. Where `path` is
    a symbolic link (a dangling one too), the link's target is written and the link stays. An
    existing file keeps its permission bits; a new one gets the usual ones (0o666 less the umask,
    as `open` would give it). The temporary file is named ``.NAME.partial-XXXXXXXXXXXX~``, so one left
    by a killed process is never taken for the file itself; on any failure it is removed, the old
    file is left as it was, and the error is raised. One left by a process killed mid-write (a
    kill -9 during fsync) is removed by the next write of the same file (`clean_stale`).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        target = resolve(path)
    except OSError as e:
        raise _naming(e, path) from None
    temporary = _temporary_name(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        mode = None  # a new file
    # O_EXCL: never write through a file or link that is already there; 0o666 is then masked by the umask.
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as e:  # name the file the user asked for, not our temporary one
        raise _naming(e, path) from None
    if fcntl is not None:  # held until the file is closed, or the process dies: then it is stale
        with contextlib.suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_EX)
    clean_stale(target)
    try:
        with os.fdopen(handle, "wb") as file:
            if mode is not None:
                os.chmod(file.fileno() if os.chmod in os.supports_fd else temporary, mode)
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise _naming(e, path) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def resolve(path: str | os.PathLike[str]) -> str:
    """The file `path` names: through symbolic links (a dangling one names its target); a loop of
    links raises `OSError` (ELOOP), as `open` would, instead of being replaced by a plain file."""
    target = os.path.realpath(os.fspath(path))
    if os.path.islink(target):  # realpath stops at a link only when the links loop
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), os.fspath(path))
    return target


STALE_SECONDS = 2.0
"""A temporary file untouched this long and locked by no writer was left by a killed process."""


def clean_stale(target: str) -> None:
    """Remove the temporary files of `target` that killed writers left behind, best effort.

    One is stale when no process holds its lock (a writer holds it until it closes the file, and
    a killed process lets it go) and it is older than STALE_SECONDS (which covers the instant
    between another writer creating its file and locking it). Without POSIX locks, nothing is
    removed: a live writer's file is never taken for a dead one's.
    """
    if fcntl is None:
        return
    folder, name = os.path.split(_temporary_name(target))
    pattern = re.compile(re.escape(name[: -len("XXXXXXXXXXXX~")]) + r"[0-9a-f]{12}~")
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder or "."):
            if not pattern.fullmatch(entry.name):
                continue
            with contextlib.suppress(OSError):
                if time.time() - entry.stat(follow_symlinks=False).st_mtime < STALE_SECONDS:
                    continue
                fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError: a live writer holds it
                    os.unlink(entry.path)
                finally:
                    os.close(fd)


def _temporary_name(target: str) -> str:
    """``.NAME.partial-XXXXXXXXXXXX~`` beside `target`: hidden, never ending in the file's own suffix.

    A long NAME is cut (to 200 bytes) so that the temporary name still fits the file system's 255."""
    folder, name = os.path.split(target)
    while len(os.fsencode(name)) > 200:
        name = name[: len(name) // 2 + 50]
    return os.path.join(folder, f".{name}.partial-{secrets.token_hex(6)}~")


def _naming(error: OSError, path: str | os.PathLike[str]) -> OSError:
    """The same error, saying which file the user asked for (not our temporary one)."""
    message = f"cannot write {os.fspath(path)}: {error.strerror or error}"
    return type(error)(error.errno, message) if error.errno is not None else type(error)(message)
