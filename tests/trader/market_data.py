"""Hand-built books, views, specs and balances for the trader's tests. Times are int ns from T0."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from decimal import Decimal as D

from shared.events import BookTop, Level, Status, StatusKind
from shared.trading import Balance, Balances, Instruments, InstrumentSpec
from trader.market import MarketView, MarketViewConfig
from trader.strategies import StrategyContext

T0 = 1_763_700_000_000_000_000
MS = 1_000_000
S = 1_000_000_000


def book(venue: str, symbol: str, bids: Iterable[Level], asks: Iterable[Level], at: int = T0, latency: int = 5 * MS) -> BookTop:
    return BookTop(venue, symbol, at - latency, at, tuple(bids), tuple(asks))


def status(venue: str, kind: StatusKind, symbol: str | None = None, at: int = T0) -> Status:
    return Status(venue, symbol, at, at, kind, "test")


def view(*books: BookTop, config: MarketViewConfig | None = None) -> MarketView:
    market = MarketView(config)
    for b in books:
        market.on_book(b)
    return market


def spec(venue: str, symbol: str, tick: str = "0.01", lot: str = "0.001", min_notional: str = "10", taker: str = "0.001",
         maker: str = "0") -> InstrumentSpec:
    return InstrumentSpec(venue, symbol, D(tick), D(lot), min_size=D(lot), min_notional=D(min_notional), maker_fee=D(maker),
                          taker_fee=D(taker))


def balances(*entries: tuple[str, str, str]) -> Balances:
    return Balances(Balance(venue, "main", asset, D(amount)) for venue, asset, amount in entries)


def context(market: MarketView, funds: Balances, specs: Iterable[InstrumentSpec], now: int = T0) -> StrategyContext:
    counter = itertools.count(1)
    return StrategyContext(market, funds, Instruments(specs), now, lambda: f"p{next(counter)}")
