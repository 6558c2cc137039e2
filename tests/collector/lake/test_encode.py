"""Events become one table per (date, exchange), sorted by symbol then receive time, nothing lost."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from collector.lake.encode import encode, split
from shared.events import Channel, Ticker, Trade
from shared.lake.events import to_events
from shared.lake.layout import NS_PER_DAY
from shared.lake.schema import schema_for
from tests.shared.lake.synthetic import T0, book, status, trades


def _ids(table: pa.Table) -> list[str]:
    return table.column("trade_id").to_pylist()


def test_tables_follow_the_channel_schema() -> None:
    for channel, events in ((Channel.TRADE, trades(5)), (Channel.BOOK, [book(i) for i in range(5)]), (Channel.STATUS, [status(i) for i in range(5)])):
        assert encode(channel, events).table.schema.equals(schema_for(channel), check_metadata=True)


def test_split_sorts_each_partition_by_symbol_then_time_and_keeps_every_row() -> None:
    events = trades(600)
    parts, rejected = split(encode(Channel.TRADE, events))
    assert rejected == 0
    assert [p.exchange for p, _ in parts] == ["binance", "bybit"]
    seen = []
    for partition, table in parts:
        keys = list(zip(table.column("symbol").to_pylist(), table.column("ts_recv").cast(pa.int64()).to_pylist(), strict=True))
        assert keys == sorted(keys)
        assert set(_ids(table)) == {e.trade_id for e in events if e.exchange == partition.exchange}
        seen += _ids(table)
    assert sorted(seen) == sorted(e.trade_id for e in events)


def test_rows_out_of_time_order_are_sorted_too() -> None:
    events = list(reversed(trades(50)))
    for _, table in split(encode(Channel.TRADE, events))[0]:
        keys = list(zip(table.column("symbol").to_pylist(), table.column("ts_recv").cast(pa.int64()).to_pylist(), strict=True))
        assert keys == sorted(keys)


def test_batch_across_midnight_goes_to_two_dates() -> None:
    events = trades(10, t0=T0 - 5 * 1_000_000)
    parts, _ = split(encode(Channel.TRADE, events))
    dates = {(p.date, p.exchange): t.num_rows for p, t in parts}
    assert dates == {
        (dt.date(2025, 12, 31), "binance"): 3,
        (dt.date(2025, 12, 31), "bybit"): 2,
        (dt.date(2026, 1, 1), "binance"): 2,
        (dt.date(2026, 1, 1), "bybit"): 3,
    }
    assert all(t.column("ts_recv").cast(pa.int64()).to_pylist()[0] // NS_PER_DAY == (p.date - dt.date(1970, 1, 1)).days for p, t in parts)


def test_book_levels_and_missing_sequence_survive() -> None:
    events = [book(i) for i in range(24)]
    rows = encode(Channel.BOOK, events).table.drop_columns(["ts_event", "ts_recv"]).to_pylist()
    assert rows[18]["bids"] == [{"price": 100.0 - n, "size": 1.0 + n} for n in range(3)]
    assert rows[0]["bids"] == [] and rows[0]["sequence"] is None and rows[1]["sequence"] == 1


def test_venue_wide_status_has_a_null_symbol_sorted_last() -> None:
    parts, _ = split(encode(Channel.STATUS, [status(i) for i in range(12)]))
    for _, table in parts:
        symbols = table.column("symbol").to_pylist()
        assert None in symbols and symbols[-1] is None and symbols.index(None) == len(symbols) - symbols.count(None)


def test_rows_of_an_exchange_that_cannot_be_a_directory_are_counted_not_written() -> None:
    bad = Trade("Bad/Name", "BTC-USDT", T0, T0, "x", trades(1)[0].side, 1.0, 1.0)
    parts, rejected = split(encode(Channel.TRADE, [*trades(4), bad]))
    assert rejected == 1 and sum(t.num_rows for _, t in parts) == 4


def test_unknown_ticker_sizes_and_exchange_time_are_stored_as_null_not_nan_and_read_back_unknown() -> None:
    unknown = Ticker("gateio", "BTC-USDT", None, T0, 65000.0, None, 65000.5, None)
    known = Ticker("gateio", "BTC-USDT", T0 - 5, T0 + 1, 65000.0, 1.5, 65000.5, 2.0)
    ((_, table),), rejected = split(encode(Channel.TICKER, [unknown, known]))
    assert rejected == 0
    assert table.column("bid_size").to_pylist() == [None, 1.5]
    assert table.column("ask_size").null_count == 1 and table.column("ts_event").null_count == 1
    assert pc.sum(pc.is_nan(table.column("bid_size"))).as_py() == 0
    read_back = to_events(Channel.TICKER, table.append_column("exchange", pa.array(["gateio"] * 2)))
    assert read_back == [unknown, known]
