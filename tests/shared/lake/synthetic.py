"""Deterministic synthetic events for lake tests: strictly increasing receive times, unique trade ids."""

from __future__ import annotations

from collector.lake.writer import PartitionWriter
from shared.events import BookTop, Channel, Event, Side, Status, StatusKind, Ticker, Trade, channel_of
from shared.lake.storage import Lake
from shared.settings.lake import LakeSettings

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
MS = 1_000_000
EXCHANGES = ("binance", "bybit")
SYMBOLS = ("BTC-USDT", "ETH-USDT", "ETH-BTC")


def ticker(i: int, t0: int = T0, step: int = MS, exchanges: tuple[str, ...] = EXCHANGES) -> Ticker:
    ts = t0 + i * step
    return Ticker(exchanges[i % len(exchanges)], SYMBOLS[i % 3], ts - 7, ts, 100.0 + i % 17, 1.5, 100.5 + i % 13, 2.5)


def trade(i: int, t0: int = T0, step: int = MS, exchanges: tuple[str, ...] = EXCHANGES) -> Trade:
    ts = t0 + i * step
    side = Side.BUY if i % 2 else Side.SELL
    return Trade(exchanges[i % len(exchanges)], SYMBOLS[(i // 2) % 3], ts - 5, ts, str(i), side, 50.0 + i % 11, 0.001 * (i % 7 + 1))


def book(i: int, t0: int = T0, step: int = MS) -> BookTop:
    ts = t0 + i * step
    bids = tuple((100.0 - level, 1.0 + level) for level in range((i // 6) % 4))
    asks = tuple((101.0 + level, 2.0 + level) for level in range(3))
    return BookTop(EXCHANGES[(i // 2) % 2], SYMBOLS[i % 3], ts - 3, ts, bids, asks, i if i % 5 else None)


def status(i: int, t0: int = T0, step: int = MS) -> Status:
    ts = t0 + i * step
    return Status(EXCHANGES[(i // 2) % 2], None if (i // 6) % 3 == 0 else SYMBOLS[i % 3], ts, ts, StatusKind.GAP, f"detail {i}")


def tickers(n: int, start: int = 0, t0: int = T0, step: int = MS) -> list[Ticker]:
    return [ticker(i, t0, step) for i in range(start, start + n)]


def trades(n: int, start: int = 0, t0: int = T0, step: int = MS) -> list[Trade]:
    return [trade(i, t0, step) for i in range(start, start + n)]


def mixed(n: int, t0: int = T0, step: int = MS) -> list[Event]:
    """Every channel interleaved, one event per `step`, receive times strictly increasing."""
    makers = (ticker, trade, book, ticker, trade, status)
    return [makers[i % len(makers)](i, t0, step) for i in range(n)]


def write(lake: Lake, settings: LakeSettings, events: list[Event], batches: int = 4) -> None:
    """`events` into the lake through the collector's partition writer, in `batches` flushes (several files per partition)."""
    writer = PartitionWriter(lake, settings)
    size = max(1, len(events) // batches)
    for start in range(0, len(events), size):
        batch: dict[Channel, list[Event]] = {}
        for event in events[start : start + size]:
            batch.setdefault(channel_of(event), []).append(event)
        assert writer.flush(batch).failed == []
