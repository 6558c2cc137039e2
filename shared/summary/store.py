"""The summary store: each analysis' results, one Parquet file per chunk of time, replaced atomically.

Layout, under the lake's root (a local directory or an object store, through `shared.lake.storage.Lake`):

    summary_stats/<analysis>/manifests/<start_ns>-<end_ns>.json     the chunk's manifest (19-digit, zero-padded)
    summary_stats/<analysis>/data/<start_ns>-<end_ns>/<created_ns>-<random>.parquet

A write publishes the Parquet file under a new name (written under `_lake/tmp/`, fsynced, moved into
place), then replaces the manifest the same way, which is the switch-over: a reader reads the manifest,
then the file it names, so it sees the old complete result or the new one, never part of either. Older
files of the chunk are deleted after the switch; a reader that listed one of them just before gets
"file not found" and starts over from the manifests (`retrying`). One writer per chunk at a time (the
flows run one analyze at a time); a crash leaves at most an unnamed file, which the next write of that
chunk deletes.
"""

from __future__ import annotations

import posixpath
import re
import secrets
from collections.abc import Iterable
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.dataset as ds

from shared.clock import Clock, now_ns
from shared.lake.layout import TMP_DIR
from shared.lake.reader import retrying
from shared.lake.storage import Lake, delete_dir, delete_file, list_dir, read_bytes, sync_dir, write_bytes, write_table

SUMMARY_DIR = "summary_stats"
VENUE_COLUMNS = ("exchange", "buy_exchange", "sell_exchange")
TIMESTAMP = pa.timestamp("ns", tz="UTC")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_KEY = re.compile(r"^(\d{19})-(\d{19})$")
_TMP_PREFIX = "s-"  # our temporary files under _lake/tmp (the collector's are w-, compaction's c- and r-)
_STALE_TMP_NS = 3_600 * 1_000_000_000
_ROW_GROUP_ROWS = 128 * 1024
_ZSTD_LEVEL = 3


class SummaryManifest(msgspec.Struct, frozen=True):
    analysis: str
    start_ns: int  # the chunk [start_ns, end_ns) this result covers
    end_ns: int
    parameters: dict[str, Any]  # the settings the analysis used
    rows_read: dict[str, int]  # input rows per lake channel
    rows: int  # result rows
    code_version: str
    created_ns: int
    file: str  # the Parquet file, relative to the analysis' directory


class NoResult(LookupError):
    """The analysis has no stored result yet."""

    def __init__(self, analysis: str) -> None:
        super().__init__(f"no result for analysis {analysis!r} yet")
        self.analysis = analysis


def chunk_key(start_ns: int, end_ns: int) -> str:
    return f"{start_ns:019d}-{end_ns:019d}"


def parse_chunk_key(name: str) -> tuple[int, int] | None:
    match = _KEY.match(name)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _overlaps(span: tuple[int, int], start_ns: int | None, end_ns: int | None) -> bool:
    return (start_ns is None or span[1] > start_ns) and (end_ns is None or span[0] < end_ns)


def _check_name(analysis: str) -> None:
    if not _NAME.match(analysis):
        raise ValueError(f"analysis: {analysis!r} is not a valid name (lower-case letters, digits and _)")


class SummaryStore:
    def __init__(self, lake: Lake, clock: Clock = now_ns) -> None:
        self.lake = lake
        self.clock = clock

    # -- writing

    def write(
        self,
        analysis: str,
        start_ns: int,
        end_ns: int,
        table: pa.Table,
        parameters: dict[str, Any],
        rows_read: dict[str, int],
        code_version: str,
    ) -> SummaryManifest:
        """Store `table` as the result of `analysis` over [start_ns, end_ns), replacing any earlier result
        of that chunk, and of other chunks that overlap it (written with another chunk size)."""
        _check_name(analysis)
        if end_ns <= start_ns:
            raise ValueError(f"end_ns: {end_ns} is not after start_ns {start_ns}")
        if "ts" not in table.column_names or table.schema.field("ts").type != TIMESTAMP:
            raise ValueError(f"table: a result needs a column 'ts' of type {TIMESTAMP} (got {table.schema})")
        key = chunk_key(start_ns, end_ns)
        created = self.clock()
        token = secrets.token_hex(4)
        name = f"{created:019d}-{token}.parquet"
        data_dir = self._rel(analysis, f"data/{key}")
        sort = [(c, "ascending") for c in ("ts", "symbol", *VENUE_COLUMNS) if c in table.column_names]
        write_table(self.lake, data_dir, name, table.sort_by(sort), f"{_TMP_PREFIX}{created}-{token}.parquet.tmp", _ROW_GROUP_ROWS, _ZSTD_LEVEL)
        manifest = SummaryManifest(
            analysis=analysis,
            start_ns=start_ns,
            end_ns=end_ns,
            parameters=parameters,
            rows_read=dict(rows_read),
            rows=table.num_rows,
            code_version=code_version,
            created_ns=created,
            file=f"data/{key}/{name}",
        )
        # The switch-over: from here on readers get the new file.
        manifest_path = self._rel(analysis, f"manifests/{key}.json")
        write_bytes(self.lake, manifest_path, msgspec.json.encode(manifest), f"{_TMP_PREFIX}{created}-{token}.json.tmp")
        self._drop_replaced(analysis, start_ns, end_ns, keep=name)
        self._drop_stale_temps(created)
        return manifest

    def _drop_replaced(self, analysis: str, start_ns: int, end_ns: int, keep: str) -> None:
        key = chunk_key(start_ns, end_ns)
        for info in list_dir(self.lake, self._rel(analysis, f"data/{key}")):
            if info.base_name != keep:
                delete_file(self.lake, self.lake.rel(info.path))
        overlapping = [k for k in self._keys(analysis) if k != (start_ns, end_ns) and _overlaps(k, start_ns, end_ns)]
        if not overlapping:
            return
        for other in overlapping:
            delete_file(self.lake, self._rel(analysis, f"manifests/{chunk_key(*other)}.json"))
        # Manifests gone for good before their data: a manifest must never name a missing file for long.
        sync_dir(self.lake, self._rel(analysis, "manifests"))
        for other in overlapping:
            delete_dir(self.lake, self._rel(analysis, f"data/{chunk_key(*other)}"))

    def _drop_stale_temps(self, now: int) -> None:
        """Our temporary files that a crashed write left behind (the name carries when it was started)."""
        for info in list_dir(self.lake, TMP_DIR):
            started = info.base_name[len(_TMP_PREFIX) :].split("-")[0]
            if info.base_name.startswith(_TMP_PREFIX) and started.isdigit() and now - int(started) > _STALE_TMP_NS:
                delete_file(self.lake, self.lake.rel(info.path))

    # -- reading

    def analyses(self) -> list[str]:
        """Names of the analyses with at least one stored result."""
        names = []
        for info in list_dir(self.lake, SUMMARY_DIR):
            if _NAME.match(info.base_name) and self._keys(info.base_name):
                names.append(info.base_name)
        return sorted(names)

    def manifests(self, analysis: str, start_ns: int | None = None, end_ns: int | None = None) -> list[SummaryManifest]:
        """The manifests of the chunks that overlap [start_ns, end_ns), by start."""
        _check_name(analysis)
        found = []
        for key in self._keys(analysis):
            if _overlaps(key, start_ns, end_ns):
                manifest = self._manifest(analysis, key)
                if manifest is not None:
                    found.append(manifest)
        return sorted(found, key=lambda m: (m.start_ns, m.end_ns))

    def read(
        self,
        analysis: str,
        start_ns: int | None = None,
        end_ns: int | None = None,
        symbols: Iterable[str] | None = None,
        exchanges: Iterable[str] | None = None,
    ) -> pa.Table:
        """Rows with `ts` in [start_ns, end_ns), `symbol` in `symbols` and any venue column in `exchanges`
        (None: no filter), ordered by ts then symbol. Raises NoResult when the analysis has no result."""
        _check_name(analysis)
        wanted_symbols = None if symbols is None else list(symbols)
        wanted_exchanges = None if exchanges is None else list(exchanges)
        return retrying(lambda: self._read_once(analysis, start_ns, end_ns, wanted_symbols, wanted_exchanges))

    def _read_once(
        self, analysis: str, start_ns: int | None, end_ns: int | None, symbols: list[str] | None, exchanges: list[str] | None
    ) -> pa.Table:
        keys = self._keys(analysis)
        if not keys:
            raise NoResult(analysis)
        manifests = [m for m in (self._manifest(analysis, k) for k in keys if _overlaps(k, start_ns, end_ns)) if m is not None]
        if not manifests:  # results exist, none in range: the empty table of the newest result's schema
            newest = self._manifest(analysis, keys[-1])
            if newest is None:
                raise FileNotFoundError(f"{analysis}: manifest {chunk_key(*keys[-1])} not found")  # replaced meanwhile: start over
            return self._dataset(analysis, newest).schema.empty_table()
        tables = []
        for manifest in manifests:
            dataset = self._dataset(analysis, manifest)
            tables.append(dataset.to_table(filter=_filter(dataset.schema, start_ns, end_ns, symbols, exchanges)))
        table = pa.concat_tables(tables, promote_options="permissive")
        sort = [(c, "ascending") for c in ("ts", "symbol", *VENUE_COLUMNS) if c in table.column_names]
        return table.sort_by(sort)

    def _dataset(self, analysis: str, manifest: SummaryManifest) -> ds.Dataset:
        return ds.dataset(self.lake.path(self._rel(analysis, manifest.file)), filesystem=self.lake.fs, format="parquet")

    def _keys(self, analysis: str) -> list[tuple[int, int]]:
        keys = []
        for info in list_dir(self.lake, self._rel(analysis, "manifests")):
            stem, ext = posixpath.splitext(info.base_name)
            key = parse_chunk_key(stem) if ext == ".json" else None
            if key is not None:
                keys.append(key)
        return sorted(keys)

    def _manifest(self, analysis: str, key: tuple[int, int]) -> SummaryManifest | None:
        """The chunk's manifest; None if it was removed since the listing (replaced by an overlapping chunk)."""
        rel = self._rel(analysis, f"manifests/{chunk_key(*key)}.json")
        try:
            data = read_bytes(self.lake, rel)
        except FileNotFoundError:
            return None
        try:
            return msgspec.json.decode(data, type=SummaryManifest)
        except msgspec.DecodeError as exc:
            raise ValueError(f"{self.lake.path(rel)}: not a summary manifest: {exc}") from None

    def _rel(self, analysis: str, rel: str) -> str:
        return f"{SUMMARY_DIR}/{analysis}/{rel}"


def _filter(
    schema: pa.Schema, start_ns: int | None, end_ns: int | None, symbols: list[str] | None, exchanges: list[str] | None
) -> ds.Expression | None:
    parts: list[ds.Expression] = []
    if start_ns is not None:
        parts.append(ds.field("ts") >= pa.scalar(start_ns, TIMESTAMP))
    if end_ns is not None:
        parts.append(ds.field("ts") < pa.scalar(end_ns, TIMESTAMP))
    if symbols is not None:
        parts.append(_isin(schema, "symbol", symbols))
    if exchanges is not None:
        venues = [_isin(schema, c, exchanges) for c in VENUE_COLUMNS if c in schema.names]
        any_venue = venues[0] if venues else ds.scalar(False)
        for venue in venues[1:]:
            any_venue = any_venue | venue
        parts.append(any_venue)
    if not parts:
        return None
    condition = parts[0]
    for part in parts[1:]:
        condition = condition & part
    return condition


def _isin(schema: pa.Schema, column: str, values: list[str]) -> ds.Expression:
    if column not in schema.names or not values:
        return ds.scalar(False)
    return ds.field(column).isin(pa.array(values, schema.field(column).type))
