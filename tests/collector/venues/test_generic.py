"""Generic ticker sizes (collector/venues/generic.py) on ticker frames of the recordings in
../shared/captures/more, as cryptofeed 2.4.1 hands them over in `Ticker.raw` (trimmed to the fields
that matter; the conformance test in tests/replay runs the whole recordings)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from collector.venues import VENUES, generic, venue_for

SIZED: dict[str, tuple[Any, tuple[float, float]]] = {
    "binance_futures": ({"e": "bookTicker", "u": 600859600576, "s": "SUSHIUSDT", "b": "7.6110", "B": "2", "a": "7.6120", "A": "297",
                         "T": 1626992741012, "E": 1626992741017}, (2.0, 297.0)),
    "gateio_futures": ({"time": 1684930165, "time_ms": 1684930165631, "channel": "futures.book_ticker", "event": "update",
                        "result": {"t": 1684930165621, "u": 6159967, "s": "PHB_USDT", "b": "0.7379", "B": 814, "a": "0.739", "A": 677}},
                       (814.0, 677.0)),
    "deribit": ({"jsonrpc": "2.0", "method": "subscription", "params": {"channel": "ticker.ETH-30JUL21-2800-C.raw", "data": {
                 "instrument_name": "ETH-30JUL21-2800-C", "best_bid_price": D("0.0015"), "best_bid_amount": D("4714.0"),
                 "best_ask_price": D("0.0025"), "best_ask_amount": D("30.0"), "timestamp": 1626993723632}}}, (4714.0, 30.0)),
    "bitflyer": ({"jsonrpc": "2.0", "method": "channelMessage", "params": {"channel": "lightning_ticker_BTC_EUR", "message": {
                  "product_code": "BTC_EUR", "best_bid": D("44461.19"), "best_ask": D("44471.91"), "best_bid_size": D("0.00118145"),
                  "best_ask_size": D("0.50134"), "market_bid_size": D("0.0"), "market_ask_size": D("0.0")}}}, (0.00118145, 0.50134)),
    "bitfinex": ([232949, [0.068965, 60157.36709703, 0.0774, 48578.50804052, 0.001969, 0.0262, 0.076989, 101459.39453471, 0.0828,
                           0.068961], 1], (60157.36709703, 48578.50804052)),
    "okx-style list under data": ({"arg": {"channel": "tickers"}, "data": [{"bidPx": "1", "bidSz": "3", "askPx": "2", "askSz": "4"}]},
                                  (3.0, 4.0)),
}
UNSIZED: dict[str, Any] = {
    # crypto.com's 2021 ticker: `b` bid, `k` ask, `a` the last trade price; no sizes.
    "crypto.com": {"i": "BAND_USDT", "b": D("7.5248"), "k": D("7.5328"), "a": D("7.5328"), "t": 1637709517473, "v": D("35912.66")},
    "kraken_futures ticker_lite": {"feed": "ticker_lite", "product_id": "FI_BCHUSD_210730", "bid": D("439.3"), "ask": D("439.6"),
                                   "volume": D("3413476.0"), "dtm": 7, "maturityTime": 1627657200000},
    "bitget": {"instId": "CULTUSDT", "bestBid": "0.000036", "bestAsk": "0.000036", "baseVolume": "13526500963", "ts": 1649290076193},
    "bitfinex funding ticker": [12, [0.0002, 30, 2, 1000.5, 0.0001, 2, 30, 800.2, 0.0001, 0.00002, 0.0003, 1000, 0.0004]],
    "sizes not numbers": {"data": {"bestBidSize": None, "bestAskSize": "n/a"}},
    "nan size": {"B": "NaN", "A": "1"},
    "none": None,
}


@pytest.mark.parametrize("frame", sorted(SIZED))
def test_sizes_are_read_from_the_known_layouts_wherever_they_are_nested(frame: str) -> None:
    raw, sizes = SIZED[frame]
    assert generic.ticker_sizes(raw) == sizes


@pytest.mark.parametrize("frame", sorted(UNSIZED))
def test_a_frame_without_sizes_gives_none_not_nan(frame: str) -> None:
    assert generic.ticker_sizes(UNSIZED[frame]) is None


def test_exchanges_without_a_venue_module_read_sizes_by_the_generic_rules() -> None:
    assert "deribit" not in VENUES
    assert venue_for("deribit").ticker_sizes is generic.ticker_sizes
    assert venue_for("kucoin").ticker_sizes is VENUES["kucoin"].ticker_sizes, "a venue module still wins"
