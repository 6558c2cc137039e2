"""The consistent way to read the lake: a snapshot of files for a channel and time range, as a file
list, a DuckDB relation or view, or an Arrow table, never counting a row twice while compaction runs.
The analyzer reads through it, and so does the collector API for the bounded ranges it computes itself.

`lake_view(con, root, "trade")` is the one way to query the lake from DuckDB: a plain
`read_parquet('.../**/*.parquet')` glob also reads the files a compaction replaced, which stay on
disk for `compaction.grace_s` after its commit, and so counts their rows twice.

Time ranges are half-open [start_ns, end_ns) on `ts_recv` (the partition and sort time). A relation
is lazy: it reads its files when executed, which is safe for `compaction.grace_s` after it was made.
`fetch` and `table` run to completion and start over from a fresh snapshot if a file disappeared
underneath them (a vacuum or retention), so they are exact even when a read outlives that grace.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from shared.events import Channel
from shared.lake.dataset import full_schema, open_dataset
from shared.lake.manifest import DataFile, snapshot
from shared.lake.storage import Lake, open_lake
from shared.settings.lake import LakeSettings

T = TypeVar("T")

_ATTEMPTS = 3
_HIVE_TYPES = {"date": "DATE", "exchange": "VARCHAR"}


def ts_literal(ns: int) -> str:
    """A DuckDB TIMESTAMPTZ_NS literal for `ns`, exact to the nanosecond and independent of the session time zone."""
    seconds, frac = divmod(ns, 1_000_000_000)
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"'{moment}.{frac:09d}+00'::TIMESTAMPTZ_NS"


def time_filter(start_ns: int | None, end_ns: int | None, column: str = "ts_recv") -> str | None:
    parts = []
    if start_ns is not None:
        parts.append(f"{column} >= {ts_literal(start_ns)}")
    if end_ns is not None:
        parts.append(f"{column} < {ts_literal(end_ns)}")
    return " AND ".join(parts) or None


def _is_missing_file(exc: BaseException) -> bool:
    if isinstance(exc, FileNotFoundError):
        return True
    text = str(exc)
    return isinstance(exc, (OSError, duckdb.IOException, duckdb.InvalidInputException)) and (
        "No such file" in text or "does not exist" in text or "No files found" in text or "not found" in text.lower()
    )


class LakeReader:
    def __init__(self, settings: LakeSettings, lake: Lake | None = None) -> None:
        self.settings = settings
        self.lake = lake or open_lake(settings)

    def files(
        self,
        channel: Channel,
        start_ns: int | None = None,
        end_ns: int | None = None,
        exchanges: Iterable[str] | None = None,
    ) -> list[DataFile]:
        """The snapshot: files that hold every row of the range once (and maybe rows around it)."""
        return snapshot(self.lake, channel, start_ns, end_ns, exchanges)

    def paths(self, files: Sequence[DataFile]) -> list[str]:
        return [self.lake.path(f.rel_path) for f in files]

    def view(
        self,
        con: duckdb.DuckDBPyConnection,
        channel: Channel | str,
        start_ns: int | None = None,
        end_ns: int | None = None,
        exchanges: Iterable[str] | None = None,
        name: str | None = None,
    ) -> duckdb.DuckDBPyRelation:
        """`relation`, also registered on `con` as the view `name` (default: the channel's name)."""
        channel = Channel(channel)
        relation = self.relation(con, channel, start_ns, end_ns, exchanges)
        relation.create_view(name or channel.value, replace=True)
        return relation

    def relation(
        self,
        con: duckdb.DuckDBPyConnection,
        channel: Channel,
        start_ns: int | None = None,
        end_ns: int | None = None,
        exchanges: Iterable[str] | None = None,
    ) -> duckdb.DuckDBPyRelation:
        """A lazy relation over one snapshot, filtered to the range; columns as in `full_schema(channel)`."""
        relation = self.unfiltered(con, channel, start_ns, end_ns, exchanges)
        condition = time_filter(start_ns, end_ns)
        return relation.filter(condition) if condition else relation

    def unfiltered(
        self,
        con: duckdb.DuckDBPyConnection,
        channel: Channel,
        start_ns: int | None = None,
        end_ns: int | None = None,
        exchanges: Iterable[str] | None = None,
    ) -> duckdb.DuckDBPyRelation:
        """Every row of the files of the range's snapshot, also those outside the range: a superset of the
        range that needs no time column read (which of the symbols there may be, say)."""
        files = self.files(channel, start_ns, end_ns, exchanges)
        if not files:
            relation = con.from_arrow(full_schema(channel).empty_table())
        elif self.lake.local:
            relation = con.sql(
                "SELECT * FROM read_parquet($files, hive_partitioning = true, hive_types = $types)",
                params={"files": self.paths(files), "types": _HIVE_TYPES},
            )
        else:  # DuckDB cannot reach an object store without its httpfs extension: go through pyarrow
            relation = con.from_arrow(open_dataset(self.lake, channel, files))
        return relation

    def fetch(
        self,
        con: duckdb.DuckDBPyConnection,
        channel: Channel,
        sql: str,
        start_ns: int | None = None,
        end_ns: int | None = None,
        exchanges: Iterable[str] | None = None,
        view: str = "lake",
    ) -> list[tuple[Any, ...]]:
        """Run `sql`, which reads the range as the view `view`, to completion; exact under compaction."""

        def run() -> list[tuple[Any, ...]]:
            self.view(con, channel, start_ns, end_ns, exchanges, name=view)
            return con.execute(sql).fetchall()

        return retrying(run)

    def table(
        self,
        channel: Channel,
        start_ns: int | None = None,
        end_ns: int | None = None,
        exchanges: Iterable[str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> pa.Table:
        """The range as an Arrow table (date and exchange included unless `columns` says otherwise)."""

        def run() -> pa.Table:
            dataset = open_dataset(self.lake, channel, self.files(channel, start_ns, end_ns, exchanges))
            return dataset.to_table(columns=list(columns) if columns else None, filter=_ds_range(start_ns, end_ns))

        return retrying(run)

    def count(
        self,
        channel: Channel,
        start_ns: int | None = None,
        end_ns: int | None = None,
        exchanges: Iterable[str] | None = None,
    ) -> int:
        def run() -> int:
            dataset = open_dataset(self.lake, channel, self.files(channel, start_ns, end_ns, exchanges))
            return int(dataset.count_rows(filter=_ds_range(start_ns, end_ns)))

        return retrying(run)


def retrying(run: Callable[[], T]) -> T:
    """Run a read; if a file it listed was deleted meanwhile (vacuum, retention), run it again (it lists anew)."""
    for attempt in range(_ATTEMPTS):
        try:
            return run()
        except Exception as exc:
            if attempt == _ATTEMPTS - 1 or not _is_missing_file(exc):
                raise
    raise AssertionError("unreachable")


def lake_view(
    con: duckdb.DuckDBPyConnection,
    lake: LakeSettings | str,
    channel: Channel | str,
    start_ns: int | None = None,
    end_ns: int | None = None,
    exchanges: Iterable[str] | None = None,
    name: str | None = None,
) -> duckdb.DuckDBPyRelation:
    """Register on `con` a view (named `name`, default the channel's name: `trade`) over exactly the
    committed files of `channel`, each row once even during and after a compaction, and return it as
    a relation. `lake` is the lake's settings or, for a local lake, its root directory. A time range
    (`[start_ns, end_ns)` on ts_recv) and `exchanges` prune files by name and filter rows.

    The view reads its files when queried: it stays exact for `compaction.grace_s` (10 min by
    default); call `lake_view` again for a later query.
    """
    settings = lake if isinstance(lake, LakeSettings) else LakeSettings(root=lake)
    return LakeReader(settings).view(con, channel, start_ns, end_ns, exchanges, name)


def _ds_range(start_ns: int | None, end_ns: int | None) -> ds.Expression | None:
    condition = None
    ts = ds.field("ts_recv")
    if start_ns is not None:
        condition = ts >= pa.scalar(start_ns, pa.timestamp("ns", tz="UTC"))
    if end_ns is not None:
        upper = ts < pa.scalar(end_ns, pa.timestamp("ns", tz="UTC"))
        condition = upper if condition is None else condition & upper
    return condition
