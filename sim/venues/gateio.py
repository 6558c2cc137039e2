"""Gate.io API v4, spot.

REST   GET /api/v4/spot/currency_pairs, GET /api/v4/spot/currency_pairs/{pair},
       GET /api/v4/spot/order_book?currency_pair=X&limit=N&with_id=true
WS     /ws/v4/: {"time":..,"channel":"spot.order_book_update","event":"subscribe","payload":["BTC_USDT","100ms"]},
       spot.trades and spot.tickers with a list of pairs as payload, "unsubscribe" likewise;
       {"channel":"spot.ping"} -> spot.pong.
Order book updates carry U/u = first/last update id; the REST book's `id` is the last id it
includes (Gate.io's recipe: drop u <= id, then the first update must have U <= id + 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.events import Channel
from sim.model_events import BookDelta, MarketEvent, TakerSide, TickerEvent, TradeEvent
from sim.venues.base import Reject, RestReply, RestRequest, Route, Session, Sub, Venue, dumps, loads, ms

_CHANNELS = {"spot.order_book_update": Channel.BOOK, "spot.trades": Channel.TRADE, "spot.tickers": Channel.TICKER}
_BOOK_INTERVALS = ("100ms", "1000ms")
_TRADE_PLACES = 10  # trade amounts and prices come with 10 decimals


class Gateio(Venue):
    name = "gateio"
    ws_paths = ("/ws/v4/",)

    def wire_symbol(self, symbol: str) -> str:
        return symbol.replace("-", "_")

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/api/v4/spot/currency_pairs", "currency_pairs", self._pairs),
            Route("GET", "/api/v4/spot/currency_pairs/{pair}", "currency_pair", self._pair),
            Route("GET", "/api/v4/spot/order_book", "order_book", self._order_book),
        ]

    def server_error(self) -> RestReply:
        return RestReply(500, {"label": "SERVER_ERROR", "message": "Internal server error"})

    # --- REST --------------------------------------------------------------------------------

    def _describe(self, symbol: str) -> dict[str, Any]:
        inst = self.view.instruments[symbol]
        return {
            "id": self.wire_symbol(symbol),
            "base": inst.base,
            "quote": inst.quote,
            "fee": "0.2",
            "min_quote_amount": "1",
            "amount_precision": inst.lot.places,
            "precision": inst.tick.places,
            "trade_status": "tradable",
            "sell_start": 0,
            "buy_start": 0,
        }

    def _pairs(self, request: RestRequest) -> RestReply:
        return RestReply(200, [self._describe(s) for s in self.view.instruments])

    def _pair(self, request: RestRequest) -> RestReply:
        symbol = self.by_wire.get(request.path.rsplit("/", 1)[-1])
        if symbol is None:
            return RestReply(400, {"label": "INVALID_CURRENCY_PAIR", "message": "Invalid currency pair"})
        return RestReply(200, self._describe(symbol))

    def _order_book(self, request: RestRequest) -> RestReply:
        symbol = self.by_wire.get(request.query.get("currency_pair", ""))
        if symbol is None:
            return RestReply(400, {"label": "INVALID_CURRENCY_PAIR", "message": "Invalid currency pair"})
        try:
            limit = min(100, max(1, int(request.query.get("limit", "10"))))
        except ValueError:
            return RestReply(400, {"label": "INVALID_PARAM_VALUE", "message": "Invalid limit"})
        snap = self.view.snapshot(symbol, limit)
        inst = self.view.instruments[symbol]
        body: dict[str, Any] = {}
        if request.query.get("with_id") == "true":
            body["id"] = snap.update_id
        body["asks"] = [[inst.tick.plain(p), inst.lot.plain(q)] for p, q in snap.asks]
        body["bids"] = [[inst.tick.plain(p), inst.lot.plain(q)] for p, q in snap.bids]
        return RestReply(200, body)

    # --- websocket ---------------------------------------------------------------------------

    def open_session(self, path: str, query: Mapping[str, str]) -> Session:
        if path.rstrip("/") != "/ws/v4":
            raise Reject(404, {"label": "NOT_FOUND", "message": "Not found"})
        return _Session(self)

    def encode(self, event: MarketEvent, sub: Sub) -> str:
        inst = self.view.instruments[event.symbol]
        wire = self.wire_symbol(event.symbol)
        seconds = int(event.ts)
        if isinstance(event, BookDelta):
            result: dict[str, Any] = {
                "t": ms(event.ts),
                "e": "depthUpdate",
                "E": seconds,
                "s": wire,
                "U": event.first_id,
                "u": event.last_id,
                "b": [[inst.tick.plain(c.price), inst.lot.plain(c.size)] for c in event.changes if c.side == "bid"],
                "a": [[inst.tick.plain(c.price), inst.lot.plain(c.size)] for c in event.changes if c.side == "ask"],
            }
            channel = "spot.order_book_update"
        elif isinstance(event, TradeEvent):
            result = {
                "id": event.trade_id,
                "create_time": seconds,
                "create_time_ms": f"{event.ts * 1000:.4f}",
                "side": "buy" if event.taker is TakerSide.BUY else "sell",
                "currency_pair": wire,
                "amount": inst.lot.fixed(event.size, _TRADE_PLACES),
                "price": inst.tick.fixed(event.price, _TRADE_PLACES),
            }
            channel = "spot.trades"
        else:
            assert isinstance(event, TickerEvent)
            stats = event.stats
            change = 100 * (stats.last - stats.open) / stats.open if stats.open else 0.0
            result = {
                "currency_pair": wire,
                "last": inst.tick.plain(stats.last),
                "lowest_ask": inst.tick.plain(event.ask),
                "highest_bid": inst.tick.plain(event.bid),
                "change_percentage": f"{change:.4f}",
                "base_volume": inst.lot.plain(stats.volume),
                "quote_volume": f"{stats.quote_volume:.8f}",
                "high_24h": inst.tick.plain(stats.high),
                "low_24h": inst.tick.plain(stats.low),
            }
            channel = "spot.tickers"
        return dumps({"time": seconds, "channel": channel, "event": "update", "result": result})


class _Session(Session):
    def __init__(self, venue: Gateio) -> None:
        super().__init__()
        self._venue = venue

    def on_text(self, text: str) -> list[str]:
        now = self._venue.view.clock()
        try:
            request = loads(text)
            channel = request["channel"]
        except (ValueError, TypeError, KeyError):
            return [dumps({"time": int(now), "channel": "", "event": "", "error": {"code": 1, "message": "invalid argument"}, "result": None})]
        if channel == "spot.ping":
            return [dumps({"time": int(now), "time_ms": ms(now), "channel": "spot.pong", "event": "", "result": None})]
        event = request.get("event")
        head = {"time": int(now), "channel": channel, "event": event}
        if "id" in request:
            head["id"] = request["id"]
        if channel not in _CHANNELS or event not in ("subscribe", "unsubscribe"):
            return [dumps({**head, "error": {"code": 1, "message": f"unknown channel {channel}"}, "result": {"status": "fail"}})]
        subs = self._parse(_CHANNELS[channel], request.get("payload"))
        if subs is None:
            return [dumps({**head, "error": {"code": 2, "message": f"invalid argument: {request.get('payload')}"}, "result": {"status": "fail"}})]
        for sub in subs:
            if event == "subscribe":
                self.subs.add(sub)
            else:
                self.subs.discard(sub)
        return [dumps({**head, "result": {"status": "success"}})]

    def _parse(self, channel: Channel, payload: Any) -> list[Sub] | None:
        if not isinstance(payload, list) or not payload:
            return None
        if channel is Channel.BOOK:
            # [pair, interval]: one book per request, as Gate.io takes it.
            if len(payload) != 2 or payload[1] not in _BOOK_INTERVALS:
                return None
            pairs = payload[:1]
        else:
            pairs = payload
        symbols = [self._venue.by_wire.get(str(p)) for p in pairs]
        if any(s is None for s in symbols):
            return None
        return [Sub(channel, s) for s in symbols if s is not None]

