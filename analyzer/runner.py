"""Running an analysis over a time range, one chunk at a time, each chunk's result stored on its own.

[start, end) is widened to whole chunks of `analyzer.chunk_s` aligned to the epoch (so every run of a
range produces the same chunks, and a re-run replaces exactly the results it recomputes). Chunks run one
after another and each result is written (shared/summary/store.py) before the next chunk starts, so the
memory a run needs is what one chunk's analysis needs, whatever the length of the range: the bound is
one chunk's input (analyses read only their chunk, with a short look-back, from the lake).

A stored result covers every exchange and symbol of its chunk: a run has no exchange or symbol filter,
or a narrow re-run would replace a whole result with part of one.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.analysis import NS_PER_S, Analysis, Scope
from shared.events import Channel
from shared.lake.reader import LakeReader
from shared.settings import Settings
from shared.summary import ANALYSES, SummaryManifest, SummaryStore

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkReport:
    start_ns: int
    end_ns: int
    rows_read: dict[str, int]  # input rows per channel
    rows_written: int
    seconds: float


@dataclass
class RunReport:
    analysis: str
    start_ns: int  # the range after widening to whole chunks
    end_ns: int
    chunks: list[ChunkReport] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        return sum(sum(c.rows_read.values()) for c in self.chunks)

    @property
    def rows_written(self) -> int:
        return sum(c.rows_written for c in self.chunks)

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.chunks)

    def summary(self) -> str:
        return (f"{self.analysis}: {len(self.chunks)} chunks, {self.rows_read} rows read, "
                f"{self.rows_written} result rows written, {self.seconds:.2f} s")


def chunk_ranges(start_ns: int, end_ns: int, chunk_s: int) -> list[tuple[int, int]]:
    """The epoch-aligned chunks of `chunk_s` seconds that cover [start_ns, end_ns)."""
    if end_ns <= start_ns:
        raise ValueError(f"end: {end_ns} is not after start {start_ns}")
    if chunk_s <= 0:
        raise ValueError(f"chunk_s: must be > 0 (got {chunk_s})")
    step = chunk_s * NS_PER_S
    first = start_ns // step * step
    last = -(-end_ns // step) * step
    return [(s, s + step) for s in range(first, last, step)]


def last_closed_chunk(now_ns: int, chunk_s: int) -> tuple[int, int]:
    """The newest chunk that ended at or before `now_ns`."""
    step = chunk_s * NS_PER_S
    end = now_ns // step * step
    return end - step, end


def parameters(settings: Settings) -> dict[str, Any]:
    """What a result depends on besides its input: the analyzer's settings and each known venue's fee."""
    venues = set(settings.exchanges) | set(settings.trader.venues) | set(settings.analyzer.taker_fee_bps)
    return {**settings.analyzer.model_dump(mode="json"), "fees_bps": {venue: settings.taker_fee_bps(venue) for venue in sorted(venues)}}


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """spreadlake's version, and `git describe` of the source tree when it is a git checkout."""
    try:
        version = importlib.metadata.version("spreadlake")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    try:
        described = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=Path(__file__).resolve().parent,
                                   capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return version
    tag = described.stdout.strip()
    return f"{version}+{tag}" if described.returncode == 0 and tag else version


Inputs = Callable[[str, Settings], Sequence[Channel]]


def registered() -> tuple[Mapping[str, Analysis], Inputs]:
    from analyzer.registry import REGISTRY, inputs  # late: only a run needs every analysis imported

    return REGISTRY, inputs


def every_channel(name: str, settings: Settings) -> Sequence[Channel]:
    return tuple(Channel)


def run_analysis(
    settings: Settings,
    name: str,
    start_ns: int,
    end_ns: int,
    registry: Mapping[str, Analysis] | None = None,
    inputs: Inputs | None = None,
    reader: LakeReader | None = None,
    store: SummaryStore | None = None,
) -> RunReport:
    """Run analysis `name` over every chunk of [start_ns, end_ns) and store each chunk's result.

    `registry` maps names to analyses (default: every analysis of analyzer/registry.py) and `inputs`
    gives the channels whose input rows the manifest counts (default: the registry's with the default
    registry, else every channel).
    """
    if registry is None:
        registry, default_inputs = registered()
        inputs = default_inputs if inputs is None else inputs
    if name not in registry:
        raise ValueError(f"analysis: unknown {name!r} (choose from {', '.join(registry)})")
    chunks = chunk_ranges(start_ns, end_ns, settings.analyzer.chunk_s)
    reader = reader or LakeReader(settings.lake)
    store = store or SummaryStore(reader.lake)
    channels = tuple((inputs or every_channel)(name, settings))
    report = RunReport(name, chunks[0][0], chunks[-1][1])
    for chunk_start, chunk_end in chunks:
        started = time.monotonic()
        manifest = run_chunk(settings, name, registry[name], chunk_start, chunk_end, channels, reader, store)
        chunk = ChunkReport(chunk_start, chunk_end, manifest.rows_read, manifest.rows, time.monotonic() - started)
        LOG.info("%s [%d, %d): %s rows read, %d written in %.2f s", name, chunk_start, chunk_end, manifest.rows_read, manifest.rows, chunk.seconds)
        report.chunks.append(chunk)
    return report


def run_chunk(
    settings: Settings,
    name: str,
    analysis: Analysis,
    start_ns: int,
    end_ns: int,
    channels: Sequence[Channel],
    reader: LakeReader,
    store: SummaryStore,
) -> SummaryManifest:
    table = analysis(reader, Scope(start_ns, end_ns), settings)
    rows_read = {channel.value: reader.count(channel, start_ns, end_ns) for channel in channels}
    return store.write(name, start_ns, end_ns, table, parameters(settings), rows_read, code_version())


def check_names(names: Sequence[str]) -> tuple[str, ...]:
    """Analysis names as given (all of them when none is), each checked against the shared list."""
    unknown = [n for n in names if n not in ANALYSES]
    if unknown:
        raise ValueError(f"analysis: unknown {unknown[0]!r} (choose from {', '.join(ANALYSES)})")
    return tuple(names) or ANALYSES
