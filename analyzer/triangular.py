"""Triangular paths on one venue: start asset -> A -> B -> start asset, both directions, after fees.

For every venue, every 3-market cycle through `analyzer.triangle_start_asset` among the symbols
that venue has in the scope (e.g. USDT>BTC>ETH>USDT over BTC-USDT, ETH-BTC, ETH-USDT, and
USDT>ETH>BTC>USDT the other way round). Each leg takes liquidity at the top of book from the ticker
channel: converting the quote asset into the base buys at the ask, the base into the quote sells at
the bid, and every leg pays the venue's taker fee on what it receives (shared/pricing.path_rate).
The figure is the path's edge after fees in bps: (what one unit of the start asset becomes - 1) *
1e4. The three markets are aligned like venues in a pair (analyzer/align.py): valid while all three
quotes are present, not crossed and no older than `analyzer.staleness_ms`.

One row per ts (hour), symbol (the path, `USDT>BTC>ETH>USDT`) and exchange, with the statistics of
analyzer/spreads.py. Fees are already in the edge, so the opportunity threshold is 0 bps:
`share_above_fees` is the share of time the edge after fees is positive, and an opportunity a run
of a positive edge; `fee_bps` reports the fees the three legs paid (3 x the venue's taker fee).
A scope's `symbols` restricts the markets a path may use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import polars as pl
import pyarrow as pa

from analyzer.align import NS_PER_MS, Group, Measure, align, distinct_keys, measured, read_group
from analyzer.analysis import Scope
from analyzer.spreads import STATISTICS, TS, summarized
from shared.events import Channel
from shared.lake.reader import LakeReader
from shared.settings import Settings

THRESHOLD_BPS = 0.0
LABELS = ("symbol", "exchange")
TRIANGULAR_SCHEMA = pa.schema([("ts", TS), ("symbol", pa.string()), ("exchange", pa.string()), *STATISTICS])


def cycles(symbols: Sequence[str], start: str) -> list[tuple[str, tuple[tuple[str, bool], ...]]]:
    """Every path start -> a -> b -> start over three of `symbols` (BASE-QUOTE): its label and its
    legs as (symbol, buys) where `buys` means the leg spends the quote asset to get the base."""
    markets = [(s, *s.split("-", 1)) for s in symbols]

    def leg(have: str, want: str) -> list[tuple[str, bool]]:
        return [(s, quote == have) for s, base, quote in markets if {base, quote} == {have, want}]

    found: list[tuple[str, tuple[tuple[str, bool], ...]]] = []
    others = sorted({a for _, base, quote in markets for a in (base, quote) if start in (base, quote) and a != start})
    for a in others:
        for b in others:
            if a == b:
                continue
            for first in leg(start, a):
                for second in leg(a, b):
                    for third in leg(b, start):
                        found.append((f"{start}>{a}>{b}>{start}", (first, second, third)))
    return found


def edge_bps(legs: Sequence[tuple[int, bool]], fee_bps: float) -> pl.Expr:
    """The path's edge after fees, over aligned columns: member index and whether the leg buys."""
    keep = 1 - fee_bps / 10_000
    rate: pl.Expr = pl.lit(1.0)
    for i, buys in legs:
        rate = (rate / pl.col(f"ask{i}") if buys else rate * pl.col(f"bid{i}")) * keep
    return (rate - 1) * 10_000


def venue_triangles(reader: LakeReader, scope: Scope, settings: Settings) -> list[Callable[[], Group]]:
    """Per venue with a cycle, a job that reads and aligns its markets and measures every path."""
    staleness_ns = settings.analyzer.staleness_ms * NS_PER_MS
    keys = distinct_keys(reader, Channel.TICKER, scope, staleness_ns)
    jobs: list[Callable[[], Group]] = []
    for venue in sorted({e for e, _ in keys}):
        symbols = sorted(s for e, s in keys if e == venue)
        paths = cycles(symbols, settings.analyzer.triangle_start_asset)
        if not paths:
            continue
        fee = settings.taker_fee_bps(venue)
        index = {s: i for i, s in enumerate(symbols)}
        measures = tuple(
            Measure(
                (label, venue),
                tuple(sorted(index[s] for s, _ in legs)),
                edge_bps([(index[s], buys) for s, buys in legs], fee),
                THRESHOLD_BPS,
                3 * fee,
            )
            for label, legs in paths
        )
        jobs.append(partial(_venue_group, reader, scope, staleness_ns, venue, symbols, measures))
    return jobs


def _venue_group(reader: LakeReader, scope: Scope, staleness_ns: int, venue: str, symbols: list[str], measures: tuple[Measure, ...]) -> Group:
    quotes = read_group(reader, Channel.TICKER, scope, staleness_ns, [venue], symbols, "symbol")
    return Group(measured(align(quotes, len(symbols)), measures, scope, staleness_ns), measures)


def triangular(reader: LakeReader, scope: Scope, settings: Settings) -> pa.Table:
    """Triangular path statistics per hour, path and venue (fees included; threshold 0 bps)."""
    return summarized(venue_triangles(reader, scope, settings), scope, LABELS, TRIANGULAR_SCHEMA)
