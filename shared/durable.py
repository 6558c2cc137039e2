"""Making changes to a local directory survive a power cut.

fsyncing a file makes its contents durable, not its name: a rename, a deletion or a new directory
is only durable once the directory holding that entry is fsynced too (POSIX leaves this to the
application). The lake and the raw capture publish files by renaming them, so they fsync the file,
rename it, then fsync its directory; a directory they create is made durable by fsyncing its parent.
"""

from __future__ import annotations

import errno
import os

StrPath = str | os.PathLike[str]


def fsync_path(path: StrPath) -> None:
    """fsync a file or a directory by name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: StrPath, sync: bool = True) -> list[str]:
    """`os.makedirs(path, exist_ok=True)`, each created level made durable (its parent fsynced) when `sync`.

    Returns the levels this call found missing, outermost first.
    """
    missing = []
    head = os.path.abspath(path)
    while not os.path.isdir(head):
        missing.append(head)
        parent = os.path.dirname(head)
        if parent == head:
            break
        head = parent
    missing.reverse()
    for level in missing:
        try:
            os.mkdir(level)
        except FileExistsError:
            if not os.path.isdir(level):
                raise NotADirectoryError(errno.ENOTDIR, "a file is in the way of a directory", level) from None
            # Another writer thread made it meanwhile: syncing its parent here as well means neither
            # thread publishes a file into it before the new entry is durable.
        if sync:
            fsync_path(os.path.dirname(level))
    return missing
