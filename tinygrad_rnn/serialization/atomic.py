"""Replace a file atomically: write a temporary file beside it, sync it, rename it onto the target.

A reader (or a crash) sees the old file or the new one, never half of one. Three details a careful
user would otherwise trip on:

* **Killed writers.** A process killed mid-save (SIGKILL, power loss) cannot delete its temporary
  file. Each temporary file's name carries its writer's process id,
  ``.<name>.<pid>.<random>.tmp``; the next save of the same target deletes those whose writer is
  no longer running (on this machine), so they never pile up.
* **Permissions.** Replacing a file keeps its permission bits (a 0600 checkpoint stays 0600); a new
  file gets the usual ``0666`` minus the umask.
* **Symbolic links.** A target that is a symlink is followed: the file it points to is replaced and
  the link stays a link (as ``open(path, "w")`` would do).

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.bin")
    >>> replace_atomically(path, lambda file: file.write(b"hello"))
    >>> with open(path, "rb") as file:
    ...     file.read()
    b'hello'
"""

from __future__ import annotations

import os
import re
import stat
import time
import uuid
from collections.abc import Callable
from typing import BinaryIO

# Temporary files of earlier versions had no process id; those older than this are stale for sure.
_LEGACY_STALE_SECONDS = 3600


def replace_atomically(path: str, write: Callable[[BinaryIO], object], op: str = "save") -> None:
    """Call ``write(file)`` on a fresh temporary file, then make that file ``path`` in one rename.

    Raises:
        IsADirectoryError: ``path`` is a directory.
        FileNotFoundError: the directory of ``path`` does not exist.
    """
    target = os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)
    if os.path.isdir(target):
        raise IsADirectoryError(
            f"{op}: {path!r} is a directory; give a file name inside it, e.g. {os.path.join(path, 'model.npz')!r}"
        )
    directory, name = os.path.split(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{op}: the directory {directory!r} does not exist; create it first (os.makedirs)")
    remove_stale_temporaries(directory, name)
    kept_mode = stat.S_IMODE(os.stat(target).st_mode) if os.path.exists(target) else None
    temporary = os.path.join(directory, f".{name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    # O_EXCL: never reuse an existing file; a new file is 0o666 minus the umask, as for any new file
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the rename makes them the file
            if kept_mode is not None:
                os.chmod(temporary, kept_mode)
        os.replace(temporary, target)  # atomic: readers see the old file or the new one, never half of one
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    if hasattr(os, "O_DIRECTORY"):  # POSIX: make the rename itself durable
        directory_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)


def remove_stale_temporaries(directory: str, name: str) -> list[str]:
    """Delete the temporary files that killed saves of ``name`` left in ``directory``; return them.

    A temporary file is stale when the process named in it no longer runs. Files of a save still
    in progress, in this or another process, are left alone.
    """
    pattern = re.compile(rf"\.{re.escape(name)}\.(?:(\d+)\.)?[0-9a-f]{{12}}\.tmp")
    removed = []
    for entry in os.listdir(directory):
        match = pattern.fullmatch(entry)
        if match is None:
            continue
        full = os.path.join(directory, entry)
        pid = match.group(1)
        if pid is not None:
            stale = not _process_is_running(int(pid))
        else:
            try:
                stale = time.time() - os.path.getmtime(full) > _LEGACY_STALE_SECONDS
            except FileNotFoundError:
                continue
        if stale:
            try:
                os.unlink(full)
                removed.append(full)
            except FileNotFoundError:  # another save removed it first
                pass
    return removed


def _process_is_running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)  # signal 0 checks that the process exists, sending nothing
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:  # e.g. Windows: no such check; keep the file
        return True
    return True
