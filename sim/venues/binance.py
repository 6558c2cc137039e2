"""Binance spot: REST api/v3 and combined/raw websocket streams.

REST   GET /api/v3/exchangeInfo, GET /api/v3/depth?symbol=X&limit=N, GET /api/v3/ping, GET /api/v3/time
WS     /stream?streams=btcusdt@depth@100ms/btcusdt@aggTrade/btcusdt@bookTicker  (frames wrapped as
       {"stream": ..., "data": ...}); /ws/<stream>[/<stream>...] (unwrapped); both also take
       {"method": "SUBSCRIBE"|"UNSUBSCRIBE", "params": [...], "id": N} -> {"result": null, "id": N}.
Depth updates carry U/u = first/last update id; `/api/v3/depth` reports `lastUpdateId` on the same
count, so a client syncs by dropping updates with u <= lastUpdateId (Binance's documented recipe).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.events import Channel
from sim.model_events import BookDelta, MarketEvent, TakerSide, TickerEvent, TradeEvent
from sim.venues.base import Reject, RestReply, RestRequest, Route, Session, Sub, Venue, dumps, loads, ms

PLACES = 8  # Binance writes every price and quantity with 8 decimals
_DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000, 5000)
_DEPTH_STREAMS = ("depth", "depth@100ms", "depth@1000ms")


class Binance(Venue):
    name = "binance"
    ws_paths = ("/stream?streams=...", "/ws/<stream>")
    server_ping_s = 20.0  # Binance pings every 20 s and drops clients that do not answer

    def wire_symbol(self, symbol: str) -> str:
        return symbol.replace("-", "")

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/api/v3/exchangeInfo", "exchangeInfo", self._exchange_info),
            Route("GET", "/api/v3/depth", "depth", self._depth),
            Route("GET", "/api/v3/ping", "ping", lambda _: RestReply(200, {})),
            Route("GET", "/api/v3/time", "time", lambda _: RestReply(200, {"serverTime": ms(self.view.clock())})),
        ]

    def server_error(self) -> RestReply:
        return RestReply(500, {"code": -1000, "msg": "An unknown error occurred while processing the request."})

    # --- REST --------------------------------------------------------------------------------

    def _exchange_info(self, request: RestRequest) -> RestReply:
        symbols = []
        for symbol, inst in self.view.instruments.items():
            symbols.append({
                "symbol": self.wire_symbol(symbol),
                "status": "TRADING",
                "baseAsset": inst.base,
                "baseAssetPrecision": 8,
                "quoteAsset": inst.quote,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "baseCommissionPrecision": 8,
                "quoteCommissionPrecision": 8,
                "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
                "icebergAllowed": True,
                "ocoAllowed": True,
                "quoteOrderQtyMarketAllowed": True,
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                # cryptofeed reads the tick size from filters[0]: PRICE_FILTER comes first, as on Binance.
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": inst.tick.fixed(1, PLACES),
                        "maxPrice": "1000000.00000000",
                        "tickSize": inst.tick.fixed(1, PLACES),
                    },
                    {"filterType": "PERCENT_PRICE", "multiplierUp": "5", "multiplierDown": "0.2", "avgPriceMins": 5},
                    {"filterType": "LOT_SIZE", "minQty": inst.lot.fixed(1, PLACES), "maxQty": "9000.00000000", "stepSize": inst.lot.fixed(1, PLACES)},
                    {"filterType": "MIN_NOTIONAL", "minNotional": "0.00010000", "applyToMarket": True, "avgPriceMins": 5},
                    {"filterType": "ICEBERG_PARTS", "limit": 10},
                    {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "1000.00000000", "stepSize": "0.00000000"},
                    {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
                    {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": 5},
                ],
                "permissions": ["SPOT"],
            })
        return RestReply(200, {
            "timezone": "UTC",
            "serverTime": ms(self.view.clock()),
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
                {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 160000},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 6100},
            ],
            "exchangeFilters": [],
            "symbols": symbols,
        })

    def _depth(self, request: RestRequest) -> RestReply:
        symbol = self.by_wire.get(request.query.get("symbol", ""))
        if symbol is None:
            return RestReply(400, {"code": -1121, "msg": "Invalid symbol."})
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            limit = -1
        if not 1 <= limit <= _DEPTH_LIMITS[-1]:
            return RestReply(400, {"code": -1100, "msg": "Illegal characters found in parameter 'limit'; legal range is '1-5000'."})
        snap = self.view.snapshot(symbol, limit)
        inst = self.view.instruments[symbol]
        return RestReply(200, {
            "lastUpdateId": snap.update_id,
            "bids": [[inst.tick.fixed(p, PLACES), inst.lot.fixed(q, PLACES)] for p, q in snap.bids],
            "asks": [[inst.tick.fixed(p, PLACES), inst.lot.fixed(q, PLACES)] for p, q in snap.asks],
        })

    # --- websocket ---------------------------------------------------------------------------

    def open_session(self, path: str, query: Mapping[str, str]) -> Session:
        if path == "/stream":
            names = [n for n in query.get("streams", "").split("/") if n]
            combined = True
        elif path.startswith("/ws"):
            names = [n for n in path[len("/ws"):].split("/") if n]
            combined = False
        else:
            raise Reject(404, {"code": -1, "msg": "Not found"})
        session = _Session(self, combined)
        for name in names:
            sub = self.parse_stream(name)
            if sub is None:
                raise Reject(400, {"code": -1121, "msg": f"Invalid stream name {name!r}."})
            session.subs.add(sub._replace(variant=f"{sub.variant}|{int(combined)}"))
        return session

    def parse_stream(self, name: str) -> Sub | None:
        pair, _, kind = name.partition("@")
        symbol = self.by_wire.get(pair.upper()) if pair == pair.lower() else None
        if symbol is None:
            return None
        if kind in _DEPTH_STREAMS:
            return Sub(Channel.BOOK, symbol, name)
        if kind == "aggTrade":
            return Sub(Channel.TRADE, symbol, name)
        if kind == "bookTicker":
            return Sub(Channel.TICKER, symbol, name)
        return None

    def encode(self, event: MarketEvent, sub: Sub) -> str:
        stream, _, combined = sub.variant.partition("|")
        data = self._payload(event)
        return dumps({"stream": stream, "data": data} if combined == "1" else data)

    def _payload(self, event: MarketEvent) -> dict[str, Any]:
        inst = self.view.instruments[event.symbol]
        wire = self.wire_symbol(event.symbol)
        if isinstance(event, BookDelta):
            return {
                "e": "depthUpdate",
                "E": ms(event.ts),
                "s": wire,
                "U": event.first_id,
                "u": event.last_id,
                "b": [[inst.tick.fixed(c.price, PLACES), inst.lot.fixed(c.size, PLACES)] for c in event.changes if c.side == "bid"],
                "a": [[inst.tick.fixed(c.price, PLACES), inst.lot.fixed(c.size, PLACES)] for c in event.changes if c.side == "ask"],
            }
        if isinstance(event, TradeEvent):
            return {
                "e": "aggTrade",
                "E": ms(event.ts),
                "s": wire,
                "a": event.trade_id,
                "p": inst.tick.fixed(event.price, PLACES),
                "q": inst.lot.fixed(event.size, PLACES),
                "f": event.trade_id,
                "l": event.trade_id,
                "T": ms(event.ts),
                "m": event.taker is TakerSide.SELL,  # the buyer was the maker when a seller hit the bid
                "M": True,
            }
        assert isinstance(event, TickerEvent)
        return {
            "u": event.update_id,
            "s": wire,
            "b": inst.tick.fixed(event.bid, PLACES),
            "B": inst.lot.fixed(event.bid_size, PLACES),
            "a": inst.tick.fixed(event.ask, PLACES),
            "A": inst.lot.fixed(event.ask_size, PLACES),
        }


class _Session(Session):
    def __init__(self, venue: Binance, combined: bool) -> None:
        super().__init__()
        self._venue = venue
        self._combined = combined

    def on_text(self, text: str) -> list[str]:
        try:
            request = loads(text)
            method, params, ident = request["method"], request.get("params", []), request["id"]
        except (ValueError, TypeError, KeyError):
            return [dumps({"error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"}})]
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS"):
            return [dumps({"error": {"code": 1, "msg": f"Unknown method {method!r}"}, "id": ident})]
        if method == "LIST_SUBSCRIPTIONS":
            return [dumps({"result": sorted(s.variant.partition("|")[0] for s in self.subs), "id": ident})]
        subs = [self._venue.parse_stream(str(name)) for name in params]
        if any(s is None for s in subs):
            return [dumps({"error": {"code": 2, "msg": "Invalid request: unknown stream name"}, "id": ident})]
        for sub in subs:
            assert sub is not None
            keyed = sub._replace(variant=f"{sub.variant}|{int(self._combined)}")
            if method == "SUBSCRIBE":
                self.subs.add(keyed)
            else:
                self.subs.discard(keyed)
        return [dumps({"result": None, "id": ident})]
