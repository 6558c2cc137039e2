"""The backtest on hand-built streams and on a lake written by the collector's writer: the paper latency is
applied on the recording's clock, the report's figures are exact, two runs agree, and the configured
journal and paper store are never touched."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal as D
from pathlib import Path

import msgspec
import pytest

from collector.lake.writer import PartitionWriter
from shared.events import BookTop, Channel, Event, Side, channel_of
from shared.lake.storage import open_lake
from shared.settings.lake import LakeSettings
from shared.trading import Liquidity
from tests.trader.engine.engine_setup import btc, config, xex
from tests.trader.market_data import MS, T0
from trader.backtest import BacktestReport, NoMarketData, backtest, render, run_backtest

# binance sells at 100.00 (1.0) and 100.10; bybit buys at 101.00 (1.0) and 100.90: 0.5 BTC is worth taking.
CHEAP = btc("binance", ((99.90, 5.0),), ((100.00, 1.0), (100.10, 5.0)), at=T0)
RICH = btc("bybit", ((101.00, 1.0), (100.90, 5.0)), ((101.10, 5.0),), at=T0 + MS)
# binance's ask moves up to 100.05 a little later.
MOVED = btc("binance", ((99.90, 5.0),), ((100.05, 1.0), (100.10, 5.0)), at=T0, sequence=2)


def at(book: BookTop, ts: int) -> BookTop:
    return msgspec.structs.replace(book, ts_event=ts - MS, ts_recv=ts)


def trades(report: BacktestReport) -> list[tuple[int, str, Side, D, D, Liquidity]]:
    return [(t.ts - T0, t.venue, t.side, t.price, t.amount, t.liquidity) for t in report.trades]


def test_paper_latency_is_applied_on_the_recordings_clock(tmp_path: Path) -> None:
    settings = config(tmp_path, xex(), latency_ms=50)
    # Decided at T0 + 1 ms on RICH; the buy (at most 100.00) reaches binance 50 ms later, the sell goes once
    # it has filled. A book at 60 ms comes after the buy; one at 30 ms is there when it arrives, with 100.05.
    after_fill = backtest(settings, [CHEAP, RICH, at(MOVED, T0 + 60 * MS)])
    before_fill = backtest(settings, [CHEAP, RICH, at(MOVED, T0 + 30 * MS)])
    assert trades(after_fill)[:2] == [(51 * MS, "binance", Side.BUY, D("100.00"), D("0.500"), Liquidity.TAKER),
                                      (101 * MS, "bybit", Side.SELL, D("101.00"), D("0.499"), Liquidity.TAKER)]
    assert not any(ts == 51 * MS for ts, *_ in trades(before_fill)) and before_fill.total.aborted >= 1
    assert not (tmp_path / "journal.db").exists() and not (tmp_path / "venue.db").exists()


def test_the_report_counts_pnl_fees_hit_rate_and_drawdown_per_instance_and_in_total(tmp_path: Path) -> None:
    report = backtest(config(tmp_path, xex(), xex("idle", min_profit_bps="500")), [CHEAP, RICH])
    assert [r.instance_id for r in report.instances] == ["idle", "xex"]
    idle, traded = report.instances
    assert (idle.attempts, idle.fills, idle.pnl, idle.hit_rate) == (0, 0, {}, None)
    # As the engine's own test: 0.5 BTC bought at 100 on binance (fee 0.0005 BTC), 0.499 sold at 101 on bybit
    # (fee 0.050399 USDT); the 0.0005 BTC under a lot is marked at 101.
    assert traded.pnl == {"USDT": D("0.399101")} and traded.pnl_value == D("0.399101")
    assert traded.fees == {"BTC": D("0.0005"), "USDT": D("0.050399")}
    assert traded.fees_value == D("0.0005") * D("101.05") + D("0.050399")  # BTC at the last book's mid (bybit's)
    assert (traded.attempts, traded.traded, traded.completed, traded.orders, traded.fills) == (1, 1, 1, 2, 2)
    assert (traded.hedged, traded.unhedged, traded.aborted, traded.in_flight) == (0, 0, 0, 0)
    assert traded.hit_rate == 1.0 and traded.max_drawdown == 0
    assert report.total.pnl == traded.pnl and report.total.fills == 2 and report.unhedged_events == ()
    assert report.events == {"ticker": 0, "trade": 0, "book": 2, "status": 0} and (report.first_ts, report.last_ts) == (T0, T0 + MS)
    assert report.balances and report.timing is not None and report.timing.wall_s > 0
    text = render(report)
    assert "xex" in text and "0.3991" in text and "100%" in text and "unhedged events: none" in text


def test_two_runs_give_the_same_report(tmp_path: Path) -> None:
    stream = [CHEAP, RICH, at(MOVED, T0 + 30 * MS), at(CHEAP, T0 + 500 * MS), at(RICH, T0 + 700 * MS)]
    first, second = (backtest(config(tmp_path, xex(), latency_ms=20), stream) for _ in range(2))
    assert first.trades and first.without_timing() == second.without_timing()


def test_the_journal_in_memory_and_in_files_under_a_workdir_give_the_same_report_and_leave_nothing(tmp_path: Path,
                                                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    stream = [CHEAP, RICH, at(MOVED, T0 + 30 * MS), at(CHEAP, T0 + 500 * MS), at(RICH, T0 + 700 * MS)]
    settings = config(tmp_path / "config", xex(), latency_ms=20)
    workdir, cwd = tmp_path / "work", tmp_path / "cwd"
    workdir.mkdir()
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # an in-memory journal makes no file (not even a lock) where the process runs
    in_memory = backtest(settings, stream)
    in_files = backtest(settings, stream, workdir=workdir)
    assert in_memory.trades and in_memory.without_timing() == in_files.without_timing()
    assert list(workdir.iterdir()) == [] and list(cwd.iterdir()) == []


def test_no_events_is_an_error() -> None:
    with pytest.raises(NoMarketData):
        backtest(config(Path("/nonexistent"), xex()), [])


def _write(root: Path, events: Sequence[Event]) -> LakeSettings:
    settings = LakeSettings(root=str(root), fsync=False)
    batch: dict[Channel, list[Event]] = {}
    for event in events:
        batch.setdefault(channel_of(event), []).append(event)
    assert PartitionWriter(open_lake(settings), settings).flush(batch).failed == []
    return settings


def test_a_lake_range_backtests_like_the_same_events_in_memory(tmp_path: Path) -> None:
    stream = [CHEAP, RICH, at(MOVED, T0 + 30 * MS), at(CHEAP, T0 + 2_000 * MS), at(RICH, T0 + 2_001 * MS)]
    lake = _write(tmp_path / "lake", stream)
    settings = config(tmp_path, xex())
    whole = run_backtest(lake, settings, None, None)
    assert whole.without_timing() == backtest(settings, stream).without_timing() and len(whole.trades) == 4
    later = run_backtest(lake, settings, T0 + 1_000 * MS, None)
    assert later.first_ts == T0 + 2_000 * MS and len(later.trades) == 2
    with pytest.raises(NoMarketData):
        run_backtest(lake, settings, T0 + 10_000 * MS, None)
