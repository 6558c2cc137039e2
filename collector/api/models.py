"""The REST API's response bodies, as pydantic models so the OpenAPI description documents them.

Timestamps are integer nanoseconds since the epoch (UTC), as everywhere in spreadlake; ages are
milliseconds; unknown values are null, never NaN.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    field: str = Field(description="The parameter at fault (`size`, `from`, `limit`, ...)")
    location: str = Field(description="Where it was sent: `query` or `path`")
    problem: str


class ErrorBody(BaseModel):
    detail: str = Field(description="What went wrong, naming the parameter at fault")
    errors: list[FieldProblem] = Field(default_factory=list, description="Each invalid parameter (HTTP 422)")


class ExchangeInfo(BaseModel):
    name: str
    endpoint: str = Field(description="`sim` (the local simulator) or `live`")
    symbols: list[str]
    channels: list[str]
    taker_fee_bps: float = Field(description="The fee the spreads use (analyzer.taker_fee_bps, else the trader's, else the default)")


class ExchangesBody(BaseModel):
    exchanges: list[ExchangeInfo]


class SymbolInfo(BaseModel):
    symbol: str
    base: str
    quote: str
    exchanges: list[str] = Field(description="Venues the collector follows it on")


class SymbolsBody(BaseModel):
    symbols: list[SymbolInfo]


class TickerRow(BaseModel):
    exchange: str
    symbol: str
    bid: float
    bid_size: float | None
    ask: float
    ask_size: float | None
    mid: float
    spread_bps: float = Field(description="(ask - bid) / mid, in bps")
    ts_event: int | None = Field(description="The exchange's timestamp (ns), null when it sent none")
    ts_recv: int = Field(description="When the collector received it (ns)")
    age_ms: float = Field(description="Time since this process got it")
    stale: bool = Field(description="Older than api.stale_after_ms")


class TickersBody(BaseModel):
    now_ns: int
    tickers: list[TickerRow]


class Edge(BaseModel):
    """Buying on one venue and selling on another: at the best prices, or walking each book for `size`."""

    buy_price: float | None = Field(description="Best ask on the buy venue, or the ask-side VWAP for `size`")
    sell_price: float | None = Field(description="Best bid on the sell venue, or the bid-side VWAP for `size`")
    gross_bps: float | None = Field(description="What comes back over what was spent, without fees, in bps")
    net_bps: float | None = Field(description="The same after both taker fees (the base sold is what the buy yields after its fee)")
    reason: str | None = Field(description="Why the values are null (an empty side, a book thinner than `size`, no size)")


class SpreadRow(BaseModel):
    symbol: str
    buy_exchange: str
    sell_exchange: str
    buy_fee_bps: float
    sell_fee_bps: float
    size: float | None = Field(description="Base amount the depth-walked edge is for")
    top: Edge
    depth: Edge
    buy_book_age_ms: float
    sell_book_age_ms: float
    stale: bool = Field(description="Either book is older than api.stale_after_ms")


class SpreadsBody(BaseModel):
    now_ns: int
    spreads: list[SpreadRow] = Field(description="Every ordered venue pair with a book on both venues, by symbol, buy and sell venue")


class Page(BaseModel):
    from_ns: int = Field(description="Start of the range served (inclusive)")
    to_ns: int = Field(description="End of the range served (exclusive)")
    total: int = Field(description="Rows in the whole range")
    limit: int
    offset: int
    next: str | None = Field(description="Path and query of the next page (the same range), null on the last page")


class ChunkInfo(BaseModel):
    start_ns: int
    end_ns: int
    rows: int
    created_ns: int
    code_version: str


class SummaryPage(Page):
    analysis: str
    chunks: list[ChunkInfo] = Field(description="The stored results (analyzer chunks) overlapping the range")
    rows: list[dict[str, Any]] = Field(description="Result rows ordered by ts then symbol; `ts` (and any timestamp) in ns")


class Candle(BaseModel):
    ts: int = Field(description="Bucket start (ns), aligned to the epoch")
    exchange: str
    symbol: str
    open: float | None
    high: float | None
    low: float | None
    close: float | None
    volume: float | None = Field(description="Sum of trade amounts (null for mid candles)")
    notional: float | None = Field(description="Sum of price * amount (null for mid candles)")
    vwap: float | None = Field(description="notional / volume (null for mid candles)")
    count: int = Field(description="Events in the bucket")


class CandlesPage(Page):
    symbol: str
    exchange: str | None
    interval: str
    source: Literal["trade", "mid"]
    source_of_data: Literal["summary", "lake"] = Field(description="Read from the `candles` summaries, or computed from the raw lake")
    candles: list[Candle]
