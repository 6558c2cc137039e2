"""Aligned quotes: every member's latest quote as columns, at every quote change of a group.

The obvious way to line up two venues is an as-of join per ordered pair; over 10M tickers
(4 venues x 3 symbols) that joins 30M rows and took 8.4 s. Here the quotes of one group (a
symbol across venues for cross-venue spreads, a venue across symbols for triangles) are put in
receive-time order once, and each member's latest bid, ask and receive time are forward-filled
into columns of their own.
Every combination of members (an ordered venue pair, a triangle) is then a few vectorized column
expressions over the same rows, all of them evaluated and aggregated together (docs/spreads.md).

Each row starts a *piece* that lasts until the group's next quote (or the end of the scope). A
combination is *valid* on a piece while each of its members' latest quote is present, not crossed
(0 < bid <= ask) and no older than the staleness limit; a piece is valid only up to the moment its
oldest quote goes stale. A combination's *state* changes only when one of its members quotes: a
*sample* is a piece that starts with such a change, so statistics over samples do not depend on
what other members do, and time-weighted figures are sums over pieces. Quotes from before the
scope (up to the staleness limit) are read too, so the scope starts with the state then in force;
that piece counts towards time and runs from the scope's start, not as a sample. Several quotes
at the same receive time make one state: one member's quotes at the same time are taken in
(ask, bid) order, the last one standing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Final, TypeVar

import duckdb
import polars as pl
import pyarrow as pa

from analyzer.analysis import Scope
from shared.events import Channel
from shared.lake.reader import LakeReader, retrying
from shared.settings import Settings

T = TypeVar("T")
NS_PER_MS = 1_000_000
NS_PER_HOUR = 3_600 * 1_000_000_000
NAN = float("nan")
_THREADS = 3
_database: duckdb.DuckDBPyConnection | None = None
_database_lock = threading.Lock()
QUOTE_SCHEMA = {"code": pl.UInt16, "ts": pl.Int64, "bid": pl.Float64, "ask": pl.Float64}
# Lazy queries here run on Polars' in-memory engine. The default ("auto") picks the streaming engine in
# Polars 2.1, which splits these whole-frame column expressions into morsels for no gain and returns
# every column in pieces that the aggregates then have to copy into one: about 10% more CPU for `measured`
# and a third more for the runs (docs/benchmarks.md, "Analyzer").
ENGINE: Final = "in-memory"


@dataclass(frozen=True)
class Measure:
    """One figure of one combination of members: `value` (an expression over bid{i}/ask{i}) is
    tracked wherever the members are valid, against `threshold` for opportunities."""

    labels: tuple[str, ...]  # what the result rows are keyed by (e.g. symbol, buy, sell, kind)
    members: tuple[int, ...]
    value: pl.Expr = field(compare=False)
    threshold: float
    fee_bps: float  # the fees the figure has to clear (spreads), or has already paid (triangles)


def _quoted(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def _codes(column: str, names: Sequence[str]) -> str:
    cases = " ".join(f"WHEN {_quoted([n])} THEN {i}" for i, n in enumerate(names))
    return f"(CASE {column} {cases} END)::USMALLINT"


def _cursor() -> duckdb.DuckDBPyConnection:
    """A connection of its own for one read, on the process's one in-memory DuckDB database. A
    database per read started its threads and allocated its memory afresh every time: 6-8% of the
    spreads benchmark's wall time (docs/benchmarks.md). Made on first use, not at import; the lock
    because the group threads read at once and their cursors come from the one connection."""
    global _database
    with _database_lock:
        if _database is None:
            _database = duckdb.connect()
        return _database.cursor()


def distinct_keys(reader: LakeReader, channel: Channel, scope: Scope, lookback_ns: int) -> list[tuple[str, str]]:
    """The (exchange, symbol) pairs with rows in the scope (and its lookback), and maybe a few more: those of
    the files that hold them, read from the symbol column alone (reading and filtering the time column too
    took twice as long: 3% of the spreads benchmark). A member without rows is never valid, so it adds no
    result row."""

    def run() -> list[tuple[str, str]]:
        con = _cursor()
        try:
            relation = reader.unfiltered(con, channel, scope.start_ns - lookback_ns, scope.end_ns, scope.exchanges)
            if scope.symbols is not None:
                relation = relation.filter(f"symbol IN ({_quoted(scope.symbols)})")
            rows = relation.aggregate("exchange, symbol", "exchange, symbol").fetchall()
            return sorted((str(e), str(s)) for e, s in rows if s is not None)
        finally:
            con.close()

    return retrying(run)


def read_group(
    reader: LakeReader,
    channel: Channel,
    scope: Scope,
    lookback_ns: int,
    exchanges: Sequence[str],
    symbols: Sequence[str],
    member: str,
    extra: str = "bid, ask",
) -> pl.DataFrame:
    """Rows of `exchanges` x `symbols` in the scope and its lookback: `code` (the index of the row's
    `member` column value, exchange or symbol, in that list), ts (receive time, ns) and `extra`."""
    members = exchanges if member == "exchange" else symbols

    def run() -> pl.DataFrame:
        con = _cursor()
        try:
            relation = reader.relation(con, channel, scope.start_ns - lookback_ns, scope.end_ns, exchanges)
            relation = relation.filter(f"symbol IN ({_quoted(symbols)})")
            return relation.select(f"{_codes(member, members)} AS code, epoch_ns(ts_recv) AS ts, {extra}").pl()
        finally:
            con.close()

    return retrying(run)


def align(quotes: pl.DataFrame, count: int) -> pl.DataFrame:
    """One group's quotes (code, ts, bid, ask; codes 0..count-1) as one row per receive time in time
    order, with per member i its latest quote `bid{i}`/`ask{i}` (NaN for a missing side) and its time
    `at{i}`, whether it quoted at this time `q{i}`, and the group's next receive time `next` (null:
    none). Several quotes at one time make one state: the row of the last of them."""
    ordered, ties = _in_time_order(quotes)
    if ordered.get_column("bid").null_count() or ordered.get_column("ask").null_count():
        ordered = ordered.with_columns(pl.col("bid").fill_null(NAN), pl.col("ask").fill_null(NAN))
    columns: list[pl.Expr] = [pl.col("ts"), pl.col("code"), pl.col("ts").shift(-1).alias("next")]
    for i in range(count):
        mine = pl.col("code") == i
        columns += [
            pl.when(mine).then(pl.col("bid")).forward_fill().alias(f"bid{i}"),
            pl.when(mine).then(pl.col("ask")).forward_fill().alias(f"ask{i}"),
            pl.when(mine).then(pl.col("ts")).forward_fill().alias(f"at{i}"),
        ]
    # Eager on purpose: the lazy engine ran these forward fills three times slower (polars 2.1).
    aligned = ordered.select(columns)
    if ties:
        aligned = aligned.filter(pl.col("next").is_null() | (pl.col("next") > pl.col("ts")))
    # The shift leaves `next` in two pieces (the shifted rows and the null), and so every column derived
    # from it (the pieces' ends); each pass that combines one of those with a one-piece column copies it.
    aligned = aligned.with_columns(aligned.get_column("next").rechunk())
    # Member i quoted at a row's time exactly when its latest quote is from then (on whichever of the rows
    # at that time it came).
    return aligned.with_columns([(pl.col(f"at{i}") == pl.col("ts")).fill_null(False).alias(f"q{i}") for i in range(count)])


def _in_time_order(quotes: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """Sorted by time, and whether some rows share a time. Then they are sorted by (ts, code, ask,
    bid), so that which of one member's quotes at the same time stands last does not depend on the
    order files were read in (the order of different members at one time does not matter: their
    rows make one state). One key sorts several times faster than four."""
    ordered = quotes.sort("ts")
    ties = ordered.height > 1 and bool(ordered.select((pl.col("ts").diff() == 0).any()).item())
    if ties:
        ordered = quotes.sort(["ts", "code", "ask", "bid"], nulls_last=True)
    return ordered, ties


def measured(aligned: pl.DataFrame, measures: Sequence[Measure], scope: Scope, staleness_ns: int) -> pl.DataFrame:
    """The pieces (see the module doc) with, per measure k: `x{k}` its value, `ok{k}` whether its
    members are valid, `end{k}` where its validity ends within the piece, `s{k}` whether the piece
    is a sample. Also `t` (piece start, clipped to the scope), `hour` (its bucket) and `inside`
    (false for the piece carried in from before the scope)."""
    t = pl.max_horizontal(pl.col("ts"), pl.lit(scope.start_ns))
    # Of the rows up to the scope's start only the last starts a piece in it (the state carried in): a slice,
    # where a filter on the pieces' ends copied every column.
    first = max(0, int(aligned.get_column("ts").search_sorted(scope.start_ns, side="right")) - 1)
    pieces = aligned.slice(first).lazy().with_columns(t=t, next=pl.col("next").fill_null(scope.end_ns))
    pieces = pieces.with_columns(oldest=pl.col("t") - staleness_ns)  # the oldest quote time still fresh
    # Each member's freshness, sanity and expiry once; a set of members is valid where all of its members
    # are, and until the first of their quotes expires.
    used = sorted({i for measure in measures for i in measure.members})
    pieces = pieces.with_columns(
        *[
            ((pl.col(f"at{i}") >= pl.col("oldest")) & (pl.col(f"bid{i}") > 0) & (pl.col(f"ask{i}") >= pl.col(f"bid{i}")))
            .fill_null(False)
            .alias(f"fresh{i}")
            for i in used
        ],
        *[(pl.col(f"at{i}") + staleness_ns).alias(f"expiry{i}") for i in used],
        inside=pl.col("ts") >= scope.start_ns,
    )
    sets: dict[tuple[int, ...], int] = {}
    set_columns: list[pl.Expr] = []
    for measure in measures:
        if measure.members in sets:
            continue
        n = sets[measure.members] = len(sets)
        ids = measure.members
        valid = pl.all_horizontal([pl.col(f"fresh{i}") for i in ids])
        set_columns += [
            valid.alias(f"valid{n}"),
            pl.min_horizontal(pl.col("next"), *[pl.col(f"expiry{i}") for i in ids]).alias(f"until{n}"),
            (valid & pl.col("inside") & pl.any_horizontal([pl.col(f"q{i}") for i in ids])).alias(f"sample{n}"),
        ]
    computed = pieces.select(
        pl.col("t"),
        (pl.col("t") - pl.col("t") % NS_PER_HOUR).alias("hour"),
        pl.col("inside"),
        *[measure.value.alias(f"x{k}") for k, measure in enumerate(measures)],
        *set_columns,
    )
    # The aggregates over the frame run several times faster on one chunk per column, which is what the
    # in-memory engine gives (`ENGINE`).
    columns = computed.collect(engine=ENGINE)
    out: list[pl.Expr] = [pl.col("t"), pl.col("hour"), pl.col("inside")]
    for k, measure in enumerate(measures):
        n = sets[measure.members]
        out += [pl.col(f"x{k}"), pl.col(f"valid{n}").alias(f"ok{k}"), pl.col(f"until{n}").alias(f"end{k}"), pl.col(f"sample{n}").alias(f"s{k}")]
    return columns.select(out)


def spread_bps(buy: int, sell: int) -> pl.Expr:
    """Buying at member `buy`'s ask and selling at member `sell`'s bid, in bps of the ask."""
    ask = pl.col(f"ask{buy}")
    return (pl.col(f"bid{sell}") - ask) / ask * 10_000


@dataclass(frozen=True)
class Group:
    """One aligned group and what to measure on it."""

    frame: pl.DataFrame  # `measured`
    measures: tuple[Measure, ...]


def venue_pairs(reader: LakeReader, scope: Scope, settings: Settings) -> list[Callable[[], Group]]:
    """Per symbol (top of book, then depth-walked), a job that reads and aligns it and measures every
    ordered venue pair's executable spread; labels (symbol, buy_exchange, sell_exchange, kind),
    threshold both venues' taker fees. Run them with `each`."""
    staleness_ns = settings.analyzer.staleness_ms * NS_PER_MS
    sizes = settings.analyzer.depth_size
    kinds = [("top", Channel.TICKER)] + ([("depth", Channel.BOOK)] if sizes else [])
    jobs: list[Callable[[], Group]] = []
    for kind, channel in kinds:
        keys = distinct_keys(reader, channel, scope, staleness_ns)
        for symbol in sorted({s for _, s in keys}):
            if kind == "depth" and symbol not in sizes:
                continue
            venues = sorted(e for e, s in keys if s == symbol)
            jobs.append(partial(_pair_group, reader, scope, settings, channel, kind, symbol, venues))
    return jobs


def _pair_group(reader: LakeReader, scope: Scope, settings: Settings, channel: Channel, kind: str, symbol: str, venues: list[str]) -> Group:
    staleness_ns = settings.analyzer.staleness_ms * NS_PER_MS
    if kind == "top":
        quotes = read_group(reader, channel, scope, staleness_ns, venues, [symbol], "exchange")
    else:
        books = read_group(reader, channel, scope, staleness_ns, venues, [symbol], "exchange", "bids, asks")
        quotes = walked(books, settings.analyzer.depth_size[symbol])
    fees = [settings.taker_fee_bps(v) for v in venues]
    measures = tuple(
        Measure((symbol, a, b, kind), (min(i, j), max(i, j)), spread_bps(i, j), fees[i] + fees[j], fees[i] + fees[j])
        for i, a in enumerate(venues)
        for j, b in enumerate(venues)
        if i != j
    )
    return Group(measured(align(quotes, len(venues)), measures, scope, staleness_ns), measures)


def each(jobs: Sequence[Callable[[], Group]], summarize: Callable[[Group], T]) -> list[T]:
    """`summarize` of every job's group, three at a time: Polars runs many of a group's steps on one
    thread, so other groups can use the free cores. Three, not one per core (2): a chunk usually
    holds three symbols, and two at a time left the third to run alone on one core (5% slower on
    bench/analyze.py); memory stays bounded by three groups."""
    with ThreadPoolExecutor(_THREADS) as pool:
        return list(pool.map(lambda job: summarize(job()), jobs))


def walked(books: pl.DataFrame, size: float) -> pl.DataFrame:
    """Book rows (code, ts, bids, asks) as depth-walked quotes: `bid`/`ask` are the VWAPs of selling
    and buying `size` base units into the book, null where the side holds less."""
    indexed = books.with_row_index("row")
    return indexed.select("code", "ts", bid=_walked_vwap(indexed, "bids", size), ask=_walked_vwap(indexed, "asks", size))


def _walked_vwap(books: pl.DataFrame, side: str, size: float) -> pl.Series:
    levels = (
        books.select("row", pl.col(side).alias("level"))
        .explode("level")
        .select("row", price=pl.col("level").struct.field("price"), amount=pl.col("level").struct.field("size"))
    )
    taken = levels.with_columns(before=(pl.col("amount").cum_sum() - pl.col("amount")).over("row")).with_columns(
        take=pl.min_horizontal(pl.col("amount"), pl.max_horizontal(size - pl.col("before"), pl.lit(0.0)))
    )
    walks = taken.group_by("row").agg(cost=(pl.col("take") * pl.col("price")).sum(), held=pl.col("amount").sum())
    vwap = walks.select("row", vwap=pl.when(pl.col("held") >= size).then(pl.col("cost") / size))
    return books.select("row").join(vwap, on="row", how="left", maintain_order="left")["vwap"]


def to_table(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    """A result frame as Arrow in `schema`: times are int64 ns while computing, strings may be views."""
    table = frame.to_arrow()
    columns = []
    for f in schema:
        column = table.column(f.name)
        if pa.types.is_timestamp(f.type) and not pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        columns.append(column.cast(f.type))
    return pa.Table.from_arrays(columns, schema=schema)
