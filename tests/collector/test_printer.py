"""`--print` filters events and writes JSON lines with channel and exchange; a slow reader is told of drops."""

from __future__ import annotations

import asyncio
import io
import json

from collector.printer import EventFilter, JsonLinePrinter
from shared.events import Side, Status, StatusKind, Trade


def trade(exchange: str, symbol: str, n: int) -> Trade:
    return Trade(exchange=exchange, symbol=symbol, ts_event=n, ts_recv=n, trade_id=str(n), side=Side.BUY, price=1.0, amount=2.0)


def test_filtered_events_are_printed_as_json_lines() -> None:
    out, err = io.BytesIO(), io.StringIO()
    printer = JsonLinePrinter(EventFilter(channels=frozenset({"trade"}), exchanges=frozenset({"bybit"})), out, err)

    async def run() -> None:
        await printer.start()
        printer(trade("bybit", "BTC-USDT", 1))
        printer(trade("binance", "BTC-USDT", 2))
        printer(Status(exchange="bybit", symbol=None, ts_event=3, ts_recv=3, kind=StatusKind.CONNECTED))
        printer(trade("bybit", "ETH-BTC", 4))
        await printer.stop()

    asyncio.run(run())
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(x["channel"], x["exchange"], x["trade_id"]) for x in lines] == [("trade", "bybit", "1"), ("trade", "bybit", "4")]
    assert err.getvalue() == ""


def test_overflow_drops_whole_lines_and_says_how_many() -> None:
    out, err = io.BytesIO(), io.StringIO()
    printer = JsonLinePrinter(EventFilter(), out, err, max_pending=3)

    async def run() -> None:
        await printer.start()
        for n in range(5):
            printer(trade("gateio", "BTC-USDT", n))
        await printer.stop()

    asyncio.run(run())
    assert len(out.getvalue().splitlines()) == 3
    assert "2 event lines dropped" in err.getvalue()
