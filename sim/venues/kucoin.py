"""KuCoin spot.

REST   POST /api/v1/bullet-public (token + instanceServers pointing at this simulator's wss port),
       GET /api/v1/symbols, GET /api/v3/market/orderbook/level2?symbol=X (signed: KC-API-* headers
       must be present; any key is accepted), GET /api/v1/market/orderbook/level2_20|level2_100
WS     /endpoint?token=T (and /?token=T): {"type":"welcome"} on connect;
       {"id":..,"type":"subscribe","topic":"/market/level2:BTC-USDT,ETH-USDT","response":true} -> ack,
       likewise /market/match and /market/ticker; {"type":"ping"} -> pong; unsubscribe.
Level-2 updates carry sequenceStart/sequenceEnd and each change its own sequence; the REST book's
`sequence` is the last change it includes.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Mapping
from typing import Any

from shared.events import Channel
from sim.model_events import BookDelta, MarketEvent, TickerEvent, TradeEvent
from sim.venues.base import Reject, RestReply, RestRequest, Route, Session, Sub, Venue, dumps, loads, ms

_TOPICS = {"/market/level2": Channel.BOOK, "/market/match": Channel.TRADE, "/market/ticker": Channel.TICKER}
_SIGNED_HEADERS = ("KC-API-KEY", "KC-API-SIGN", "KC-API-TIMESTAMP", "KC-API-PASSPHRASE")
PING_INTERVAL_MS = 18000
PING_TIMEOUT_MS = 10000
_TOKENS_KEPT = 10_000  # tokens stay valid until this many newer ones were issued


class KuCoin(Venue):
    name = "kucoin"
    ws_paths = ("/endpoint?token=...",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tokens: dict[str, None] = {}  # insertion-ordered, oldest first
        self._welcome_ids = itertools.count(1)

    def wire_symbol(self, symbol: str) -> str:
        return symbol

    def wire_trade_id(self, trade: TradeEvent) -> str:
        return _object_id(trade.ts, trade.trade_id, 0)

    def routes(self) -> list[Route]:
        return [
            Route("POST", "/api/v1/bullet-public", "bullet-public", self._bullet),
            Route("GET", "/api/v1/symbols", "symbols", self._symbols),
            Route("GET", "/api/v3/market/orderbook/level2", "level2", self._level2_full),
            Route("GET", "/api/v1/market/orderbook/level2_20", "level2_20", lambda r: self._level2(r, 20)),
            Route("GET", "/api/v1/market/orderbook/level2_100", "level2_100", lambda r: self._level2(r, 100)),
        ]

    def server_error(self) -> RestReply:
        return RestReply(500, {"code": "500000", "msg": "Internal Server Error"})

    # --- REST --------------------------------------------------------------------------------

    def _bullet(self, request: RestRequest) -> RestReply:
        token = secrets.token_urlsafe(96)
        self._tokens[token] = None
        if len(self._tokens) > _TOKENS_KEPT:
            del self._tokens[next(iter(self._tokens))]
        server = {
            "endpoint": f"{self.view.ws_url}/endpoint",
            "encrypt": True,
            "protocol": "websocket",
            "pingInterval": PING_INTERVAL_MS,
            "pingTimeout": PING_TIMEOUT_MS,
        }
        return RestReply(200, {"code": "200000", "data": {"token": token, "instanceServers": [server]}})

    def _symbols(self, request: RestRequest) -> RestReply:
        data = []
        for symbol, inst in self.view.instruments.items():
            data.append({
                "symbol": symbol,
                "name": symbol,
                "baseCurrency": inst.base,
                "quoteCurrency": inst.quote,
                "feeCurrency": inst.quote,
                "market": "USDS" if inst.quote in ("USDT", "USDC") else inst.quote,
                "baseMinSize": inst.lot.plain(1),
                "quoteMinSize": "0.1",
                "baseMaxSize": "10000000000",
                "quoteMaxSize": "99999999",
                "baseIncrement": inst.lot.plain(1),
                "quoteIncrement": inst.tick.plain(1),
                "priceIncrement": inst.tick.plain(1),
                "priceLimitRate": "0.1",
                "isMarginEnabled": False,
                "enableTrading": True,
            })
        return RestReply(200, {"code": "200000", "data": data})

    def _level2_full(self, request: RestRequest) -> RestReply:
        missing = [h for h in _SIGNED_HEADERS if not request.headers.get(h)]
        if missing:
            return RestReply(401, {"code": "400001", "msg": f"Please check the header of your request for {missing[0]}"})
        return self._level2(request, None)

    def _level2(self, request: RestRequest, depth: int | None) -> RestReply:
        symbol = request.query.get("symbol", "")
        if symbol not in self.view.instruments:
            return RestReply(200, {"code": "400100", "msg": "This pair is not provided at present"})
        snap = self.view.snapshot(symbol, depth)
        inst = self.view.instruments[symbol]
        return RestReply(200, {"code": "200000", "data": {
            "time": ms(snap.ts),
            "sequence": str(snap.update_id),
            "bids": [[inst.tick.plain(p), inst.lot.plain(q)] for p, q in snap.bids],
            "asks": [[inst.tick.plain(p), inst.lot.plain(q)] for p, q in snap.asks],
        }})

    # --- websocket ---------------------------------------------------------------------------

    def open_session(self, path: str, query: Mapping[str, str]) -> Session:
        if path not in ("/", "/endpoint"):
            raise Reject(404, {"code": "404000", "msg": "Not Found"})
        welcome_id = query.get("connectId") or f"sim{next(self._welcome_ids):07d}"
        return _Session(self, welcome_id, query.get("token", "") in self._tokens)

    def parse_topic(self, topic: str) -> list[Sub] | None:
        prefix, _, names = topic.partition(":")
        channel = _TOPICS.get(prefix)
        # cryptofeed 2.4.1 writes "/market/level2: A,B" (a space after the colon); KuCoin tolerates it.
        symbols = [n.strip() for n in names.split(",")]
        if channel is None or not all(s in self.view.instruments for s in symbols):
            return None
        return [Sub(channel, s) for s in symbols]

    def encode(self, event: MarketEvent, sub: Sub) -> str:
        inst = self.view.instruments[event.symbol]
        if isinstance(event, BookDelta):
            return dumps({
                "data": {
                    "sequenceStart": event.first_id,
                    "symbol": event.symbol,
                    "changes": {
                        "asks": [[inst.tick.plain(c.price), inst.lot.plain(c.size), str(c.update_id)] for c in event.changes if c.side == "ask"],
                        "bids": [[inst.tick.plain(c.price), inst.lot.plain(c.size), str(c.update_id)] for c in event.changes if c.side == "bid"],
                    },
                    "sequenceEnd": event.last_id,
                },
                "subject": "trade.l2update",
                "topic": f"/market/level2:{event.symbol}",
                "type": "message",
            })
        if isinstance(event, TradeEvent):
            return dumps({
                "data": {
                    "symbol": event.symbol,
                    "sequence": str(event.update_id),
                    "side": event.taker.value,
                    "size": inst.lot.plain(event.size),
                    "price": inst.tick.plain(event.price),
                    "takerOrderId": _object_id(event.ts, event.trade_id, 1),
                    "time": str(int(event.ts * 1e9)),
                    "type": "match",
                    "makerOrderId": _object_id(event.ts, event.trade_id, 2),
                    "tradeId": self.wire_trade_id(event),
                },
                "subject": "trade.l3match",
                "topic": f"/market/match:{event.symbol}",
                "type": "message",
            })
        assert isinstance(event, TickerEvent)
        return dumps({
            "data": {
                "sequence": str(event.update_id),
                "bestAsk": inst.tick.plain(event.ask),
                "size": inst.lot.plain(event.stats.last_size),
                "bestBidSize": inst.lot.plain(event.bid_size),
                "price": inst.tick.plain(event.stats.last),
                "time": ms(event.ts),
                "bestAskSize": inst.lot.plain(event.ask_size),
                "bestBid": inst.tick.plain(event.bid),
            },
            "subject": "trade.ticker",
            "topic": f"/market/ticker:{event.symbol}",
            "type": "message",
        })


def _object_id(ts: float, number: int, kind: int) -> str:
    # KuCoin ids are Mongo ObjectIds: 4 bytes of epoch seconds, then 8 more; deterministic here.
    return f"{int(ts) & 0xFFFFFFFF:08x}{kind:02x}{number & 0xFFFFFFFFFFFFFF:014x}"


class _Session(Session):
    def __init__(self, venue: KuCoin, welcome_id: str, authorized: bool) -> None:
        super().__init__()
        self._venue = venue
        self._welcome_id = welcome_id
        self._authorized = authorized

    def opening(self) -> list[str]:
        if not self._authorized:
            self.close = True
            return [dumps({"id": self._welcome_id, "type": "error", "code": 401, "data": "token is invalid"})]
        return [dumps({"id": self._welcome_id, "type": "welcome"})]

    def on_text(self, text: str) -> list[str]:
        try:
            request = loads(text)
            kind, ident = request["type"], str(request.get("id", ""))
        except (ValueError, TypeError, KeyError):
            return [dumps({"id": "", "type": "error", "code": 400, "data": "message format error"})]
        if kind == "ping":
            return [dumps({"id": ident, "type": "pong", "timestamp": int(self._venue.view.clock() * 1e6)})]
        if kind not in ("subscribe", "unsubscribe"):
            return [dumps({"id": ident, "type": "error", "code": 404, "data": f"type {kind} is not supported"})]
        topic = str(request.get("topic", ""))
        subs = self._venue.parse_topic(topic)
        if subs is None:
            return [dumps({"id": ident, "type": "error", "code": 404, "data": f"topic {topic} is not found"})]
        for sub in subs:
            if kind == "subscribe":
                self.subs.add(sub)
            else:
                self.subs.discard(sub)
        return [dumps({"id": ident, "type": "ack"})] if request.get("response", False) else []
