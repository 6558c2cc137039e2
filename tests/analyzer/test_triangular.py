"""The `triangular` analysis: cycles through the start asset, the fee-adjusted edge, its statistics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analyzer.analysis import Scope
from analyzer.triangular import TRIANGULAR_SCHEMA, cycles, triangular
from shared.events import Event, Side, Ticker
from shared.lake.reader import LakeReader
from shared.lake.storage import open_lake
from shared.pricing import path_rate
from shared.settings import Settings
from shared.settings.analyzer import AnalyzerSettings
from shared.settings.lake import LakeSettings
from tests.shared.lake.synthetic import write

S = 1_000_000_000
T0 = 1_767_225_600 * S  # 2026-01-01T00:00:00Z


def close(value: float) -> Any:
    return pytest.approx(value, rel=1e-12, abs=1e-12)
FEE = 0.001  # 10 bps


def test_every_cycle_through_the_start_asset_is_found_in_both_directions() -> None:
    symbols = ["BTC-USDT", "ETH-BTC", "ETH-USDT", "SOL-USDT"]
    assert cycles(symbols, "USDT") == [
        ("USDT>BTC>ETH>USDT", (("BTC-USDT", True), ("ETH-BTC", True), ("ETH-USDT", False))),
        ("USDT>ETH>BTC>USDT", (("ETH-USDT", True), ("ETH-BTC", False), ("BTC-USDT", False))),
    ]
    assert [label for label, _ in cycles(symbols, "BTC")] == ["BTC>ETH>USDT>BTC", "BTC>USDT>ETH>BTC"]
    assert cycles(["BTC-USDT", "ETH-USDT"], "USDT") == []


def tick(venue: str, symbol: str, at_s: float, bid: float, ask: float) -> Ticker:
    ts = T0 + round(at_s * S)
    return Ticker(venue, symbol, ts, ts, bid, 1.0, ask, 1.0)


def forward(eth_usdt_bid: float) -> float:
    """USDT>BTC>ETH>USDT in bps after fees, per shared/pricing."""
    return (path_rate([(Side.BUY, 60_010.0, FEE), (Side.BUY, 0.0501, FEE), (Side.SELL, eth_usdt_bid, FEE)]) - 1) * 10_000


def run(tmp_path: Path, events: list[Event], **analyzer: Any) -> list[dict[str, Any]]:
    lake = LakeSettings(root=str(tmp_path / "lake"), fsync=False)
    write(open_lake(lake), lake, sorted(events, key=lambda e: e.ts_recv), 1)
    settings = Settings(lake=lake, analyzer=AnalyzerSettings.model_validate({"taker_fee_bps": {"a": 10.0}, "staleness_ms": 10_000, **analyzer}))
    table = triangular(LakeReader(lake), Scope(T0, T0 + 10 * S), settings)
    assert table.schema == TRIANGULAR_SCHEMA
    return table.to_pylist()


EVENTS: list[Event] = [
    tick("a", "BTC-USDT", 0, 60_000.0, 60_010.0),
    tick("a", "ETH-BTC", 1, 0.05, 0.0501),
    tick("a", "ETH-USDT", 2, 3_010.0, 3_011.0),
    tick("a", "ETH-USDT", 3, 3_030.0, 3_031.0),  # the forward path turns positive after fees...
    tick("a", "ETH-USDT", 5, 3_010.0, 3_011.0),  # ...for 2 s
    tick("b", "BTC-USDT", 0.5, 60_000.0, 60_010.0),  # b has no cycle
    tick("b", "ETH-USDT", 0.5, 3_010.0, 3_011.0),
]


def test_the_edge_after_fees_and_its_statistics_match_the_hand_computed_values(tmp_path: Path) -> None:
    rows = run(tmp_path, EVENTS)
    assert [(r["symbol"], r["exchange"]) for r in rows] == [("USDT>BTC>ETH>USDT", "a"), ("USDT>ETH>BTC>USDT", "a")]
    got = rows[0]
    low, high = forward(3_010.0), forward(3_030.0)
    assert low < 0 < high
    assert got["samples"] == 3  # at 2 s (all three quoted), 3 s and 5 s
    assert got["max_bps"] == close(high)
    assert got["p50_bps"] == close(low)
    assert got["mean_bps"] == close((2 * low + high) / 3)
    assert got["fee_bps"] == 30.0
    assert got["valid_s"] == 8.0
    assert got["share_above_fees"] == close(2 / 8)
    assert (got["opportunities"], got["opportunity_max_s"]) == (1, 2.0)


def test_the_reverse_path_buys_at_the_ask_and_sells_at_the_bid(tmp_path: Path) -> None:
    reverse = run(tmp_path, EVENTS)[1]
    expected = (path_rate([(Side.BUY, 3_011.0, FEE), (Side.SELL, 0.05, FEE), (Side.SELL, 60_000.0, FEE)]) - 1) * 10_000
    assert reverse["p50_bps"] == close(expected)
    assert reverse["opportunities"] == 0 and reverse["share_above_fees"] == 0.0


def test_a_stale_leg_leaves_the_path_without_a_valid_state(tmp_path: Path) -> None:
    rows = run(tmp_path, EVENTS, staleness_ms=1_500)
    # BTC-USDT quoted at 0 s is stale by 1.5 s, before ETH-USDT first quotes at 2 s.
    assert rows == []
