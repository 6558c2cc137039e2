"""Which files and directories a real run fsyncs, and in what state they were at that moment.

A power cut cannot be simulated in a test, so durability is checked by its mechanism: `os.fsync`
is wrapped (it still syncs) to record the path behind each descriptor, a directory's entries at the
moment it was synced, and whatever else a test asks to observe then (`probe`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Synced:
    path: Path
    entries: frozenset[str] | None  # a directory's entries when it was synced; None for a file
    probe: object = None


def record_fsyncs(monkeypatch: pytest.MonkeyPatch, probe: Callable[[], object] | None = None) -> list[Synced]:
    synced: list[Synced] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        entries = frozenset(os.listdir(path)) if path.is_dir() else None
        synced.append(Synced(path, entries, probe() if probe else None))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def dir_synced_with(synced: list[Synced], path: Path) -> list[int]:
    """Positions at which `path`'s directory was synced while `path` was in it."""
    return [i for i, s in enumerate(synced) if s.path == path.parent and s.entries is not None and path.name in s.entries]
