"""A paper venue for the trader's tests: real SQLite store under tmp_path, hand-built books, a manual clock."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from shared.events import BookTop, Side
from shared.trading import Balance, Instruments, OrderType, SubmitOrder, TimeInForce
from tests.trader.market_data import T0, spec
from trader.execution import PaperConfig, PaperExecutor, PaperStore

SPECS = (spec("binance", "BTC-USDT"), spec("bybit", "BTC-USDT"))  # tick 0.01, lot 0.001, min notional 10, taker 0.1%, maker 0
FUNDS = (
    Balance("binance", "main", "USDT", D("1000")),
    Balance("binance", "main", "BTC", D("1")),
    Balance("bybit", "main", "USDT", D("1000")),
    Balance("bybit", "main", "BTC", D("1")),
)


class ManualClock:
    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ns: int) -> int:
        self.now += ns
        return self.now


def paper(path: Path, clock: ManualClock | None = None, funds: tuple[Balance, ...] = FUNDS, latency_s: float = 0.0) -> PaperExecutor:
    return PaperExecutor(PaperStore(path), PaperConfig(Instruments(SPECS), funds, latency_s), clock or ManualClock())


def order(cid: str, side: Side = Side.BUY, amount: str = "0.5", price: str | None = None, venue: str = "binance",
          tif: TimeInForce = TimeInForce.GTC, account: str = "main", attempt_id: str | None = None) -> SubmitOrder:
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    tif = TimeInForce.IOC if price is None else tif
    return SubmitOrder(cid, venue, account, "BTC-USDT", side, kind, D(amount), None if price is None else D(price), tif, T0, attempt_id)


def btc_book(venue: str = "binance", bids: tuple[tuple[float, float], ...] = ((99.90, 1.0),),
             asks: tuple[tuple[float, float], ...] = ((100.00, 0.5), (100.10, 1.0)), at: int = T0, sequence: int | None = 1) -> BookTop:
    return BookTop(venue, "BTC-USDT", at, at, bids, asks, sequence)
