"""Bybit API v5, spot category.

REST   GET /v5/market/instruments-info?category=spot|linear   (linear answers an empty list: the
       simulator lists spot only), GET /v5/market/orderbook?category=spot&symbol=X&limit=N
WS     /v5/public/spot: {"op":"subscribe","args":["orderbook.200.BTCUSDT","publicTrade.BTCUSDT",
       "tickers.BTCUSDT"]} -> {"success":true,"ret_msg":"subscribe",...}; an orderbook subscription
       is answered with a "snapshot" frame, then "delta" frames. {"op":"ping"} -> pong.
       /v5/public/linear accepts connections but lists nothing.
Book frames carry `u` (+1 per message of the topic; the snapshot's is the last one it includes) and
`seq` (the model's change id). A repeated subscription is refused ("already subscribed").
Two deliberate extensions, both for cryptofeed 2.4.1, which can only read spot tickers when its
spot endpoint also carries the `tickers` channel:
- a ticker topic spelled with a slash (`tickers.BTC/USDT`, as cryptofeed writes it) is accepted and
  answered under that spelling, which is the only one cryptofeed maps back to the spot symbol (its
  follow-up `tickers.BTCUSDT` is then a repeat of the same topic);
- spot ticker data carries bid1Price/bid1Size/ask1Price/ask1Size like Bybit's linear tickers (real
  spot tickers have no quote, and cryptofeed would report a 0 bid and ask).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from shared.events import Channel
from sim.model_events import BookDelta, BookSnapshot, MarketEvent, TakerSide, TickerEvent, TradeEvent
from sim.venues.base import Reject, RestReply, RestRequest, Route, Session, Sub, Venue, dumps, loads, ms

# orderbook.1 is left out: Bybit sends it as a snapshot every time, not as deltas. The deeper topics
# get every change of the simulated book (which is `depth_levels` deep, normally less than 50).
_BOOK_DEPTHS = (50, 200, 1000)
_TRADE_ID_BASE = 2_290_000_000_000_000_000  # Bybit spot trade ids are 19-digit numbers


class Bybit(Venue):
    name = "bybit"
    ws_paths = ("/v5/public/spot", "/v5/public/linear")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._conn_ids = itertools.count(1)

    def wire_symbol(self, symbol: str) -> str:
        return symbol.replace("-", "")

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/v5/market/instruments-info", "instruments-info", self._instruments),
            Route("GET", "/v5/market/orderbook", "orderbook", self._orderbook),
        ]

    def server_error(self) -> RestReply:
        return RestReply(500, self._envelope({}, code=10016, message="Internal server error."))

    def wire_trade_id(self, trade: TradeEvent) -> str:
        return str(_TRADE_ID_BASE + trade.trade_id)

    def wire_book_ids(self, delta: BookDelta) -> tuple[int, int]:
        return delta.seq, delta.seq

    # --- REST --------------------------------------------------------------------------------

    def _envelope(self, result: Any, code: int = 0, message: str = "OK") -> dict[str, Any]:
        return {"retCode": code, "retMsg": message, "result": result, "retExtInfo": {}, "time": ms(self.view.clock())}

    def _instruments(self, request: RestRequest) -> RestReply:
        category = request.query.get("category", "")
        if category not in ("spot", "linear", "inverse", "option"):
            return RestReply(200, self._envelope({}, code=10001, message="params error: Category is invalid"))
        listed = []
        if category == "spot":
            for i, (symbol, inst) in enumerate(self.view.instruments.items()):
                listed.append({
                    "symbolId": i + 1,
                    "symbol": self.wire_symbol(symbol),
                    "baseCoin": inst.base,
                    "quoteCoin": inst.quote,
                    "innovation": "0",
                    "status": "Trading",
                    "marginTrading": "utaOnly",
                    "stTag": "0",
                    "lotSizeFilter": {
                        "basePrecision": inst.lot.plain(1),
                        "quotePrecision": "0.0000001",
                        "minOrderQty": inst.lot.plain(1),
                        "maxOrderQty": "10000",
                        "minOrderAmt": "5",
                        "maxOrderAmt": "8000000",
                        "maxLimitOrderQty": "10000",
                        "maxMarketOrderQty": "5000",
                        "postOnlyMaxLimitOrderSize": "50000",
                    },
                    "priceFilter": {"tickSize": inst.tick.plain(1)},
                    "riskParameters": {"priceLimitRatioX": "0.005", "priceLimitRatioY": "0.01"},
                    "symbolType": "",
                    "xstockMultiplier": "1",
                })
        result: dict[str, Any] = {"category": category, "list": listed}
        if category != "spot":
            result["nextPageCursor"] = ""
        return RestReply(200, self._envelope(result))

    def _orderbook(self, request: RestRequest) -> RestReply:
        symbol = self.by_wire.get(request.query.get("symbol", ""))
        if request.query.get("category") != "spot" or symbol is None:
            return RestReply(200, self._envelope({}, code=10001, message="params error: symbol invalid"))
        try:
            limit = min(200, max(1, int(request.query.get("limit", "1"))))
        except ValueError:
            limit = 1
        snap = self.view.snapshot(symbol, limit)
        return RestReply(200, self._envelope(dict(self._book_data(snap), ts=ms(snap.ts), cts=ms(snap.ts))))

    def _book_data(self, snap: BookSnapshot) -> dict[str, Any]:
        inst = self.view.instruments[snap.symbol]
        return {
            "s": self.wire_symbol(snap.symbol),
            "b": [[inst.tick.plain(p), inst.lot.plain(q)] for p, q in snap.bids],
            "a": [[inst.tick.plain(p), inst.lot.plain(q)] for p, q in snap.asks],
            "u": snap.seq,
            "seq": snap.update_id,
        }

    # --- websocket ---------------------------------------------------------------------------

    def open_session(self, path: str, query: Mapping[str, str]) -> Session:
        if path not in ("/v5/public/spot", "/v5/public/linear"):
            raise Reject(404, {"retCode": 404, "retMsg": "Not Found"})
        market = path.rsplit("/", 1)[-1]
        return _Session(self, listed=market == "spot", conn_id=f"sim{next(self._conn_ids):08d}-{market}")

    def parse_topic(self, topic: str) -> Sub | None:
        kind, _, rest = topic.partition(".")
        if kind == "orderbook":
            depth, _, wire = rest.partition(".")
            if not depth.isdigit() or int(depth) not in _BOOK_DEPTHS:
                return None
            symbol = self.by_wire.get(wire)
            return Sub(Channel.BOOK, symbol, depth) if symbol else None
        if kind == "publicTrade":
            symbol = self.by_wire.get(rest)
            return Sub(Channel.TRADE, symbol) if symbol else None
        if kind == "tickers":
            symbol = self.by_wire.get(rest.replace("/", ""))
            return Sub(Channel.TICKER, symbol, rest) if symbol else None
        return None

    def book_snapshot(self, sub: Sub) -> str:
        snap = self.view.snapshot(sub.symbol, int(sub.variant))
        return dumps({
            "topic": f"orderbook.{sub.variant}.{self.wire_symbol(sub.symbol)}",
            "ts": ms(self.view.clock()),
            "type": "snapshot",
            "data": self._book_data(snap),
            "cts": ms(snap.ts),
        })

    def encode(self, event: MarketEvent, sub: Sub) -> str:
        inst = self.view.instruments[event.symbol]
        wire = self.wire_symbol(event.symbol)
        if isinstance(event, BookDelta):
            return dumps({
                "topic": f"orderbook.{sub.variant}.{wire}",
                "ts": ms(event.ts),
                "type": "delta",
                "data": {
                    "s": wire,
                    "b": [[inst.tick.plain(c.price), inst.lot.plain(c.size)] for c in event.changes if c.side == "bid"],
                    "a": [[inst.tick.plain(c.price), inst.lot.plain(c.size)] for c in event.changes if c.side == "ask"],
                    "u": event.seq,
                    "seq": event.last_id,
                },
                "cts": ms(event.ts),
            })
        if isinstance(event, TradeEvent):
            return dumps({
                "topic": f"publicTrade.{wire}",
                "ts": ms(event.ts),
                "type": "snapshot",
                "data": [{
                    "i": self.wire_trade_id(event),
                    "T": ms(event.ts),
                    "p": inst.tick.plain(event.price),
                    "v": inst.lot.plain(event.size),
                    "S": "Buy" if event.taker is TakerSide.BUY else "Sell",
                    "seq": event.update_id,
                    "s": wire,
                    "BT": False,
                    "RPI": False,
                }],
            })
        assert isinstance(event, TickerEvent)
        stats = event.stats
        change = (stats.last - stats.open) / stats.open if stats.open else 0.0
        return dumps({
            "topic": f"tickers.{sub.variant}",
            "ts": ms(event.ts),
            "type": "snapshot",
            "cs": event.update_id,
            "data": {
                "symbol": sub.variant,
                "lastPrice": inst.tick.plain(stats.last),
                "highPrice24h": inst.tick.plain(stats.high),
                "lowPrice24h": inst.tick.plain(stats.low),
                "prevPrice24h": inst.tick.plain(stats.open),
                "volume24h": inst.lot.plain(stats.volume),
                "turnover24h": f"{stats.quote_volume:.8f}",
                "price24hPcnt": f"{change:.4f}",
                "usdIndexPrice": inst.tick.plain(stats.last),
                "bid1Price": inst.tick.plain(event.bid),
                "bid1Size": inst.lot.plain(event.bid_size),
                "ask1Price": inst.tick.plain(event.ask),
                "ask1Size": inst.lot.plain(event.ask_size),
            },
        })


class _Session(Session):
    def __init__(self, venue: Bybit, listed: bool, conn_id: str) -> None:
        super().__init__()
        self._venue = venue
        self._listed = listed  # False on the linear path: every topic is invalid there
        self._conn_id = conn_id

    def on_text(self, text: str) -> list[str]:
        try:
            request = loads(text)
            op = request["op"]
        except (ValueError, TypeError, KeyError):
            return [dumps({"success": False, "ret_msg": f"error:invalid op, {text[:64]}", "conn_id": self._conn_id, "op": ""})]
        reply: dict[str, Any] = {"success": True, "ret_msg": "", "conn_id": self._conn_id}
        if "req_id" in request:
            reply["req_id"] = request["req_id"]
        if op == "ping":
            return [dumps({**reply, "ret_msg": "pong", "req_id": request.get("req_id", ""), "op": "ping"})]
        if op not in ("subscribe", "unsubscribe"):
            return [dumps({**reply, "success": False, "ret_msg": f"error:invalid op {op}", "op": op})]
        topics = [str(t) for t in request.get("args", [])]
        parsed = [(t, self._venue.parse_topic(t) if self._listed else None) for t in topics]
        invalid = [t for t, sub in parsed if sub is None]
        if invalid:
            return [dumps({**reply, "success": False, "ret_msg": f"Invalid symbol :[{','.join(invalid)}]", "op": op})]
        taken = {_topic_key(s) for s in self.subs}
        repeated = [t for t, sub in parsed if op == "subscribe" and sub is not None and _topic_key(sub) in taken]
        if repeated:
            return [dumps({**reply, "success": False, "ret_msg": f"error:already subscribed,topic:{','.join(repeated)}", "op": op})]
        frames = [dumps({**reply, "ret_msg": op if op == "subscribe" else "", "op": op})]
        for _, sub in parsed:
            assert sub is not None
            if op == "unsubscribe":
                self.subs.discard(sub)
            else:
                self.subs.add(sub)
                if sub.channel is Channel.BOOK:
                    frames.append(self._venue.book_snapshot(sub))
        return frames


def _topic_key(sub: Sub) -> tuple[Channel, str, str]:
    # Both spellings of a ticker topic are one topic: cryptofeed 2.4.1 subscribes spot tickers as
    # `tickers.BTC/USDT` and then again as `tickers.BTCUSDT`; the second is refused as a repeat (as
    # Bybit refuses any repeated topic), so frames come once, in the spelling cryptofeed can map.
    return (sub.channel, sub.symbol, "" if sub.channel is Channel.TICKER else sub.variant)
