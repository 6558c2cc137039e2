"""Querying the lake with DuckDB SQL: views over one snapshot (the range and exchanges pushed into the
scan), symbols as literals, results cast to a declared schema. Used by the candles here and by the
analyzer's analyses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import pyarrow as pa

from shared.events import Channel
from shared.lake.reader import LakeReader, retrying

TS_TYPE = pa.timestamp("ns", tz="UTC")


def check_range(start_ns: int, end_ns: int) -> None:
    if end_ns <= start_ns:
        raise ValueError(f"range: end {end_ns} is not after start {start_ns}")


def symbol_filter(symbols: Iterable[str] | None, column: str = "symbol") -> str:
    """A SQL condition keeping `symbols` (None: every symbol) as literals, so DuckDB can prune row groups."""
    if symbols is None:
        return "TRUE"
    symbols = (symbols,) if isinstance(symbols, str) else tuple(symbols)
    if not symbols:
        return "FALSE"
    quoted = ", ".join("'" + s.replace("'", "''") + "'" for s in symbols)
    return f"{column} IN ({quoted})"


def cast_to(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A query result as `schema`: its columns picked by name and cast (`ts`, computed as int64 ns,
    becomes timestamp[ns, UTC]); an empty result keeps the full schema."""
    columns = [table.column(field.name).cast(field.type) for field in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def lake_query(
    reader: LakeReader,
    channels: Sequence[Channel],
    sql: str,
    start_ns: int,
    end_ns: int,
    exchanges: Iterable[str] | None = None,
) -> pa.Table:
    """Run `sql`, which reads each of `channels` in [start_ns, end_ns) as a view named after it (`trade`,
    `ticker`, ...), to completion; from a fresh snapshot again if a file was deleted underneath it."""
    check_range(start_ns, end_ns)
    exchanges = None if exchanges is None else tuple(exchanges)

    def run() -> pa.Table:
        con = duckdb.connect()
        try:
            for channel in channels:
                reader.view(con, channel, start_ns, end_ns, exchanges)
            return con.sql(sql).to_arrow_table()
        finally:
            con.close()

    return retrying(run)
