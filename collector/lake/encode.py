"""Events -> Arrow tables -> one sorted table per lake partition. Pure functions, run off the event loop.

Encoding is column by column (`map(attrgetter)` into `pa.array`), the cheapest way from Python
objects to Arrow without a per-row Python loop of our own. Splitting sorts once on a small integer
key (day, exchange, symbol ranks) with Arrow's stable sort, so rows already in receive-time order
(the collector's receive clock never goes back) need no time comparisons at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import accumulate, chain
from operator import attrgetter

import pyarrow as pa
import pyarrow.compute as pc

from shared.events import BookTop, Channel, Event, Status, Ticker, Trade
from shared.lake.layout import NS_PER_DAY, Partition, day_of
from shared.lake.schema import LEVEL, LEVELS, TIMESTAMP, schema_for


class Encoded:
    """A channel's rows in lake schema, with each row's exchange beside them (it becomes the partition)."""

    def __init__(self, channel: Channel, table: pa.Table, exchange: pa.Array) -> None:
        self.channel = channel
        self.table = table
        self.exchange = exchange


def _col(events: Sequence[Event], name: str, type_: pa.DataType) -> pa.Array:
    return pa.array(list(map(attrgetter(name), events)), type_)


def _common(events: Sequence[Event]) -> list[pa.Array]:
    return [
        _col(events, "symbol", pa.string()),
        _col(events, "ts_event", TIMESTAMP),
        _col(events, "ts_recv", TIMESTAMP),
    ]


def _levels(events: Sequence[BookTop], side: str) -> pa.Array:
    books = list(map(attrgetter(side), events))
    offsets = pa.array(list(accumulate(map(len, books), initial=0)), pa.int32())
    levels = list(chain.from_iterable(books))
    prices = pa.array([level[0] for level in levels], pa.float64())
    sizes = pa.array([level[1] for level in levels], pa.float64())
    values = pa.StructArray.from_arrays([prices, sizes], fields=list(LEVEL))
    return pa.ListArray.from_arrays(offsets, values, type=LEVELS)


def _ticker(events: Sequence[Ticker]) -> list[pa.Array]:
    return _common(events) + [_col(events, name, pa.float64()) for name in ("bid", "bid_size", "ask", "ask_size")]


def _trade(events: Sequence[Trade]) -> list[pa.Array]:
    return [
        *_common(events),
        _col(events, "trade_id", pa.string()),
        _col(events, "side", pa.string()),
        _col(events, "price", pa.float64()),
        _col(events, "amount", pa.float64()),
    ]


def _book(events: Sequence[BookTop]) -> list[pa.Array]:
    return [*_common(events), _col(events, "sequence", pa.int64()), _levels(events, "bids"), _levels(events, "asks")]


def _status(events: Sequence[Status]) -> list[pa.Array]:
    return [*_common(events), _col(events, "kind", pa.string()), _col(events, "detail", pa.string())]


_ENCODERS: dict[Channel, Callable[[Sequence], list[pa.Array]]] = {
    Channel.TICKER: _ticker,
    Channel.TRADE: _trade,
    Channel.BOOK: _book,
    Channel.STATUS: _status,
}


def encode(channel: Channel, events: Sequence[Event]) -> Encoded:
    """Events of one channel (all of the same type) as a table in that channel's lake schema."""
    table = pa.Table.from_arrays(_ENCODERS[channel](events), schema=schema_for(channel))
    return Encoded(channel, table, _col(events, "exchange", pa.string()))


def _ranks(values: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Each value's rank among the distinct values in sorted order (nulls last), and those values."""
    encoded = pc.dictionary_encode(values, null_encoding="encode")
    order = pc.array_sort_indices(encoded.dictionary)  # nulls sort last by default
    rank_of_code = pc.array_sort_indices(order)
    return pc.take(rank_of_code, encoded.indices).cast(pa.int64()), encoded.dictionary.take(order)


def split(encoded: Encoded) -> tuple[list[tuple[Partition, pa.Table]], int]:
    """One table per (date, exchange), each sorted by (symbol, ts_recv), in partition order; and the
    number of rows whose exchange cannot name a partition (they cannot be stored)."""
    table = encoded.table
    if table.num_rows == 0:
        return [], 0
    ts = table.column("ts_recv").combine_chunks().cast(pa.int64())
    day = pc.divide(ts, NS_PER_DAY)
    first_day = pc.min(day).as_py()
    exchange_rank, exchanges = _ranks(encoded.exchange)
    symbol_rank, symbols = _ranks(table.column("symbol").combine_chunks())
    partition_key = pc.add(pc.multiply(pc.subtract(day, first_day), len(exchanges)), exchange_rank)
    sort_key = pc.add(pc.multiply(partition_key, len(symbols)), symbol_rank)
    in_time_order = table.num_rows < 2 or pc.all(pc.greater_equal(ts[1:], ts[:-1])).as_py()
    if in_time_order:
        order = pc.sort_indices(sort_key)  # stable: rows keep their time order within a key
    else:
        order = pc.sort_indices(pa.table({"k": sort_key, "t": ts}), [("k", "ascending"), ("t", "ascending")])
    ordered = table.take(order)
    runs = pc.run_end_encode(pc.take(partition_key, order))
    out = []
    rejected = 0
    start = 0
    for key, end in zip(runs.values.to_pylist(), runs.run_ends.to_pylist(), strict=True):
        date = day_of((first_day + key // len(exchanges)) * NS_PER_DAY)
        exchange = exchanges[key % len(exchanges)].as_py()
        try:
            out.append((Partition(encoded.channel, date, exchange), ordered.slice(start, end - start)))
        except (TypeError, ValueError):
            rejected += end - start
        start = end
    return out, rejected
