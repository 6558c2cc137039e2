"""Live routes: what is collected (/v1/exchanges, /v1/symbols), the latest tickers and the live spreads.

They read `LatestMarket` on the event loop it is updated on (the handlers are coroutines), so each
answer is one consistent moment of the market.
"""

# No `from __future__ import annotations`: FastAPI reads the parameter aliases defined inside the router
# factory from the handlers' annotations at run time, and cannot resolve them as strings.

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.params import Depends

from collector.api.errors import documented, no_result, not_found
from collector.api.models import ExchangeInfo, ExchangesBody, SpreadRow, SpreadsBody, SymbolInfo, SymbolsBody, TickerRow, TickersBody
from collector.api.spreads import NS_PER_MS, cross_spreads
from collector.latest import LatestMarket
from shared.clock import Clock
from shared.pricing import BPS
from shared.settings import Settings
from shared.symbols import split

# Sizes outside these bounds are no order size (and a subnormal one divides by zero in the VWAP).
MIN_SIZE = 1e-9
MAX_SIZE = 1e12


class Catalog:
    """The exchanges and symbols the settings collect: what a request may name (anything else is 404)."""

    def __init__(self, settings: Settings) -> None:
        self.exchanges = sorted(settings.exchanges)
        self.symbols = sorted({s for exchange in settings.exchanges.values() for s in exchange.symbols})

    def exchange(self, name: str | None) -> list[str]:
        if name is None:
            return self.exchanges
        if name not in self.exchanges:
            raise not_found("exchange", name, self.exchanges)
        return [name]

    def symbol(self, name: str | None) -> list[str]:
        if name is None:
            return self.symbols
        if name not in self.symbols:
            raise not_found("symbol", name, self.symbols)
        return [name]


def choice(values: list[str], description: str) -> Any:
    """An optional query parameter documented with its known values; others are answered 404, not 422."""
    return Query(description=description, json_schema_extra={"enum": values} if values else None)


def live_router(settings: Settings, market: LatestMarket, clock: Clock, guarded: list[Depends]) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=guarded, tags=["live"])
    catalog = Catalog(settings)
    stale_after_ms = settings.api.stale_after_ms
    auth = documented(401) if guarded else {}
    Exchange = Annotated[str | None, choice(catalog.exchanges, "One exchange (default: all)")]
    Symbol = Annotated[str | None, choice(catalog.symbols, "One symbol, BASE-QUOTE (default: all)")]

    @router.get("/exchanges", summary="The exchanges the collector follows: symbols, channels, taker fee", responses=auth)
    async def get_exchanges() -> ExchangesBody:
        return ExchangesBody(exchanges=[
            ExchangeInfo(name=name, endpoint=ex.endpoint.value, symbols=list(ex.symbols), channels=[c.value for c in ex.channels],
                         taker_fee_bps=settings.taker_fee_bps(name))
            for name, ex in sorted(settings.exchanges.items())
        ])

    @router.get("/symbols", summary="The symbols the collector follows, with the exchanges of each", responses=auth)
    async def get_symbols() -> SymbolsBody:
        rows = []
        for symbol in catalog.symbols:
            base, quote = split(symbol)
            venues = [name for name in catalog.exchanges if symbol in settings.exchanges[name].symbols]
            rows.append(SymbolInfo(symbol=symbol, base=base, quote=quote, exchanges=venues))
        return SymbolsBody(symbols=rows)

    @router.get("/tickers", summary="The latest ticker per exchange and symbol, with its age",
                responses={**documented(404, 422, 503), **auth})
    async def get_tickers(exchange: Exchange = None, symbol: Symbol = None) -> TickersBody:
        exchanges, symbols = catalog.exchange(exchange), catalog.symbol(symbol)
        now = clock()
        rows = []
        for ex in exchanges:
            for sym in symbols:
                seen = market.tickers.get((ex, sym))
                if seen is None:
                    continue
                t, received_ns = seen
                mid = (t.bid + t.ask) / 2
                age = (now - received_ns) / NS_PER_MS
                rows.append(TickerRow(exchange=ex, symbol=sym, bid=t.bid, bid_size=t.bid_size, ask=t.ask, ask_size=t.ask_size, mid=mid,
                                      spread_bps=(t.ask - t.bid) / mid * BPS if mid else 0.0, ts_event=t.ts_event, ts_recv=t.ts_recv,
                                      age_ms=age, stale=age > stale_after_ms))
        if not rows:
            raise no_result(f"no ticker received yet for {_scope(exchange, symbol)}")
        return TickersBody(now_ns=now, tickers=rows)

    @router.get("/spreads", summary="Live cross-exchange spreads from the latest books: top of book and walked for `size`, gross and net of fees",
                responses={**documented(404, 422, 503), **auth})
    async def get_spreads(
        symbol: Symbol = None,
        exchange: Annotated[str | None, choice(catalog.exchanges, "Only pairs with this exchange on either side (default: all)")] = None,
        size: Annotated[float | None, Query(ge=MIN_SIZE, le=MAX_SIZE, allow_inf_nan=False,
                                            description="Base amount to walk the books for; default: analyzer.depth_size of the symbol")] = None,
    ) -> SpreadsBody:
        symbols = catalog.symbol(symbol)
        catalog.exchange(exchange)
        now = clock()
        rows: list[SpreadRow] = []
        seen_any = False
        for sym in symbols:
            books = market.books_of(sym)
            seen_any = seen_any or (exchange in books if exchange else bool(books))
            amount = size if size is not None else settings.analyzer.depth_size.get(sym)
            pairs = cross_spreads(sym, books, amount, settings.taker_fee_bps, now, stale_after_ms)
            rows.extend(p for p in pairs if exchange is None or exchange in (p.buy_exchange, p.sell_exchange))
        if not seen_any:
            raise no_result(f"no book received yet for {_scope(exchange, symbol)}")
        return SpreadsBody(now_ns=now, spreads=rows)

    return router


def _scope(exchange: str | None, symbol: str | None) -> str:
    parts = [f"exchange {exchange}" if exchange else "any exchange", f"symbol {symbol}" if symbol else "any symbol"]
    return " and ".join(parts)
