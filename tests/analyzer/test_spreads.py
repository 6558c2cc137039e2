"""The `spreads` analysis over small lakes whose figures are worked out by hand."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from analyzer.analysis import Scope
from analyzer.lake.compaction import compact
from analyzer.spreads import SPREAD_SCHEMA, spreads
from shared.events import BookTop, Event, Ticker
from shared.lake.reader import LakeReader
from shared.lake.storage import open_lake
from shared.pricing import cross_venue_edge_bps, vwap
from shared.settings import Settings
from shared.settings.analyzer import AnalyzerSettings
from shared.settings.lake import LakeSettings
from tests.shared.lake.synthetic import write

S = 1_000_000_000
T0 = 1_767_225_600 * S  # 2026-01-01T00:00:00Z
HOUR = 3_600 * S
BTC = "BTC-USDT"


def close(value: float) -> Any:
    return pytest.approx(value, rel=1e-12, abs=1e-12)


def tick(venue: str, at_s: float, bid: float | None, ask: float | None, symbol: str = BTC) -> Ticker:
    ts = T0 + round(at_s * S)
    return Ticker(venue, symbol, ts, ts, bid, 1.0, ask, 1.0)  # type: ignore[arg-type]


def make_lake(tmp_path: Path, events: Sequence[Event], batches: int = 1) -> LakeSettings:
    settings = LakeSettings(root=str(tmp_path / "lake"), fsync=False)
    write(open_lake(settings), settings, sorted(events, key=lambda e: e.ts_recv), batches)
    return settings


def run(lake: LakeSettings, start_s: float = 0, end_s: float = 8, **analyzer: Any) -> list[dict[str, Any]]:
    analyzer = {"taker_fee_bps": {"a": 5.0, "b": 10.0}, "staleness_ms": 10_000, **analyzer}
    settings = Settings(lake=lake, analyzer=AnalyzerSettings.model_validate(analyzer))
    table = spreads(LakeReader(lake), Scope(T0 + round(start_s * S), T0 + round(end_s * S)), settings)
    assert table.schema == SPREAD_SCHEMA
    return table.to_pylist()


# a asks 100 throughout, so a->b is (bid_b - 100) bps x 100: 10, 30, 20, 10, 25 bps at 1, 2, 4, 5, 6 s.
MAIN = [
    tick("a", 0, 99.9, 100.0),
    tick("b", 1, 100.1, 100.2),
    tick("b", 2, 100.3, 100.4),
    tick("b", 4, 100.2, 100.3),
    tick("b", 5, 100.1, 100.2),
    tick("b", 6, 100.25, 100.35),
]


def row(rows: list[dict[str, Any]], buy: str, sell: str, kind: str = "top") -> dict[str, Any]:
    (found,) = [r for r in rows if (r["buy_exchange"], r["sell_exchange"], r["kind"]) == (buy, sell, kind)]
    return found


def test_top_of_book_statistics_match_the_hand_computed_values(tmp_path: Path) -> None:
    got = row(run(make_lake(tmp_path, MAIN)), "a", "b")
    assert got["ts"].timestamp() == T0 / S and got["symbol"] == BTC
    assert got["samples"] == 5
    assert got["mean_bps"] == close(19.0)  # (10 + 30 + 20 + 10 + 25) / 5
    assert got["p50_bps"] == close(20.0)
    assert got["p95_bps"] == close(29.0)  # 25 + 0.8 x (30 - 25), linear
    assert got["max_bps"] == close(30.0)
    assert got["fee_bps"] == 15.0
    assert got["valid_s"] == 7.0  # from b's first quote at 1 s to the scope's end at 8 s
    assert got["share_above_fees"] == close(5 / 7)  # above 15 bps over [2, 5) and [6, 8)


def test_spread_runs_above_fees_are_counted_as_opportunities(tmp_path: Path) -> None:
    got = row(run(make_lake(tmp_path, MAIN)), "a", "b")
    assert got["opportunities"] == 2  # 2 s to 5 s (3 s), 6 s to the scope's end (2 s)
    assert got["opportunity_p50_s"] == 2.5
    assert got["opportunity_p95_s"] == close(2.95)
    assert got["opportunity_max_s"] == 3.0


def test_both_orders_of_a_venue_pair_are_reported_with_their_own_sign(tmp_path: Path) -> None:
    rows = run(make_lake(tmp_path, MAIN))
    assert [(r["buy_exchange"], r["sell_exchange"]) for r in rows] == [("a", "b"), ("b", "a")]
    back = row(rows, "b", "a")  # buy b's ask, sell a's bid 99.9
    assert back["samples"] == 5
    assert back["max_bps"] == close((99.9 - 100.2) / 100.2 * 10_000)
    assert back["share_above_fees"] == 0.0
    assert back["opportunities"] == 0
    assert back["opportunity_p50_s"] is None and back["opportunity_max_s"] is None


def test_a_spread_exactly_at_the_fees_is_not_above_them(tmp_path: Path) -> None:
    # 64.0625 against 64 is 9.765625 bps, exactly representable, and so are the two fees that sum to it.
    lake = make_lake(tmp_path, [tick("a", 0, 63.9, 64.0), tick("b", 1, 64.0625, 64.1)])
    got = row(run(lake, taker_fee_bps={"a": 4.8828125, "b": 4.8828125}), "a", "b")
    assert got["max_bps"] == 9.765625 == got["fee_bps"]
    assert got["share_above_fees"] == 0.0 and got["opportunities"] == 0


def test_a_pair_stops_counting_when_a_quote_is_older_than_the_staleness_limit(tmp_path: Path) -> None:
    lake = make_lake(tmp_path, [tick("a", 0, 99.9, 100.0), tick("b", 1, 100.3, 100.4), tick("b", 3, 100.2, 100.3)])
    got = row(run(lake, staleness_ms=2_000), "a", "b")
    assert got["samples"] == 1  # at 3 s a's quote from 0 s is 3 s old
    assert got["valid_s"] == 1.0  # 1 s to 2 s, when a's quote goes stale
    assert got["opportunities"] == 1 and got["opportunity_max_s"] == 1.0


def test_time_belongs_to_the_hour_a_piece_starts_in(tmp_path: Path) -> None:
    lake = make_lake(tmp_path, [tick("a", 3596, 99.9, 100.0), tick("b", 3597, 100.1, 100.2), tick("b", 3601, 100.2, 100.3)])
    rows = [r for r in run(lake, start_s=3595, end_s=3605) if r["buy_exchange"] == "a"]
    assert [(r["ts"].timestamp() - T0 / S, r["samples"], r["valid_s"]) for r in rows] == [(0, 1, 4.0), (3600, 1, 4.0)]


def test_an_hour_in_which_no_piece_starts_has_no_row(tmp_path: Path) -> None:
    # The piece from 3597 s runs until the next quote at 7300 s, valid until a's quote goes stale at 3606 s:
    # its time is the first hour's; no piece starts in the second hour.
    ticks = [tick("a", 3596, 99.9, 100.0), tick("b", 3597, 100.1, 100.2), tick("a", 7300, 99.9, 100.0), tick("b", 7301, 100.1, 100.2)]
    rows = [r for r in run(make_lake(tmp_path, ticks), start_s=3595, end_s=7305) if r["buy_exchange"] == "a"]
    assert [(r["ts"].timestamp() - T0 / S, r["samples"], r["valid_s"]) for r in rows] == [(0, 1, 9.0), (7200, 1, 4.0)]


def test_scope_exchanges_and_symbols_restrict_the_pairs(tmp_path: Path) -> None:
    events: list[Event] = [*MAIN, tick("c", 1.5, 99.0, 99.1), tick("a", 0.5, 9.0, 10.0, "ETH-USDT"), tick("b", 0.7, 9.5, 10.5, "ETH-USDT")]
    lake = make_lake(tmp_path, events)
    settings = Settings(lake=lake)
    everything = spreads(LakeReader(lake), Scope(T0, T0 + 8 * S), settings).to_pylist()
    assert len({(r["symbol"], r["buy_exchange"], r["sell_exchange"]) for r in everything}) == 6 + 2
    narrowed = spreads(LakeReader(lake), Scope(T0, T0 + 8 * S, ("a", "b"), (BTC,)), settings).to_pylist()
    assert [(r["symbol"], r["buy_exchange"], r["sell_exchange"]) for r in narrowed] == [(BTC, "a", "b"), (BTC, "b", "a")]


def test_the_top_of_book_spread_agrees_with_shared_pricing(tmp_path: Path) -> None:
    lake = make_lake(tmp_path, [tick("a", 0, 64_990.5, 65_001.25), tick("b", 1, 65_020.75, 65_030.0)])
    got = row(run(lake), "a", "b")
    assert got["samples"] == 1
    assert got["max_bps"] == close(cross_venue_edge_bps(65_001.25, 65_020.75, 0.0, 0.0))


def book(venue: str, at_s: float, bids: tuple[tuple[float, float], ...], asks: tuple[tuple[float, float], ...], symbol: str = BTC) -> BookTop:
    ts = T0 + round(at_s * S)
    return BookTop(venue, symbol, ts, ts, bids, asks, None)


A_ASKS = ((100.0, 0.5), (101.0, 1.0))
B_BIDS = ((102.0, 0.25), (101.5, 0.25), (101.0, 1.0))


def test_depth_walked_spreads_use_the_vwap_of_the_configured_size(tmp_path: Path) -> None:
    events: list[Event] = [
        book("a", 0, ((99.0, 5.0),), A_ASKS),
        book("b", 1, B_BIDS, ((103.0, 5.0),)),
        book("b", 3, ((102.0, 0.5),), ((103.0, 5.0),)),  # too thin to sell 1 BTC: no valid state
        book("a", 0.5, ((9.0, 5.0),), ((10.0, 5.0),), "ETH-USDT"),  # no size configured: left out
        book("b", 0.6, ((9.0, 5.0),), ((10.0, 5.0),), "ETH-USDT"),
    ]
    rows = run(make_lake(tmp_path, events), depth_size={BTC: 1.0})
    assert {(r["symbol"], r["kind"]) for r in rows} == {(BTC, "depth")}
    got = row(rows, "a", "b", "depth")
    buy, sell = vwap(A_ASKS, 1.0), vwap(B_BIDS, 1.0)
    assert buy == 100.5 and sell == 101.375
    assert got["samples"] == 1
    assert got["max_bps"] == close((101.375 - 100.5) / 100.5 * 10_000)
    assert got["max_bps"] == close(cross_venue_edge_bps(buy, sell, 0.0, 0.0))
    assert got["valid_s"] == 2.0  # 1 s to 3 s, when b's book became too thin


def test_a_compacted_lake_gives_the_same_numbers(tmp_path: Path) -> None:
    events: list[Event] = [tick("ab"[i % 2], i * 0.25, 100.0 + (i * 7 % 5) * 0.1, 100.5 + (i * 3 % 4) * 0.1) for i in range(40)]
    lake = make_lake(tmp_path, events, batches=8)
    before = run(lake, end_s=12)
    report = compact(lake, clock=lambda: T0 + 10 * HOUR)
    assert report.partitions == 2 and report.files_in == 16
    after = run(lake, end_s=12)
    assert after == before and before
    assert pa.Table.from_pylist(after).num_rows == 2


def test_a_venue_whose_file_holds_no_row_in_the_scope_adds_no_pair(tmp_path: Path) -> None:
    # c's one file spans the scope, but its rows lie before the staleness lookback and after the end: the file
    # is read for the venues there may be, c joins the group, and no pair with c is ever valid.
    lake = make_lake(tmp_path, [*MAIN, tick("c", -20, 99.0, 99.5), tick("c", 20, 99.0, 99.5)])
    with_c = run(lake, taker_fee_bps={"a": 5.0, "b": 10.0, "c": 10.0})
    assert {(r["buy_exchange"], r["sell_exchange"]) for r in with_c} == {("a", "b"), ("b", "a")}
    assert with_c == run(make_lake(tmp_path / "no-c", MAIN))
