"""The simulator's frames and REST bodies have the shapes of the exchanges' recorded traffic.

A shape is the JSON structure with values replaced by their type; lists merge their elements'
shapes, and an empty list matches any list. Recorded in ../shared/captures (see its README).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from shared.events import Channel
from shared.settings.sim import SimSettings
from sim.market import Market
from sim.model_events import MarketEvent
from sim.venues import VENUES
from sim.venues.base import RestRequest, Session, Sub, Venue, VenueView, channel_of

CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "captures"
START = 1_800_000_000.0
# Bybit spot tickers carry the linear tickers' quote fields here (see sim/venues/bybit.py).
BYBIT_TICKER_EXTRAS = {"bid1Price", "bid1Size", "ask1Price", "ask1Size"}


def shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        merged: Any = None
        for item in value:
            merged = merge(merged, shape(item))
        return [] if merged is None else [merged]
    return type(value).__name__


def merge(a: Any, b: Any) -> Any:
    if a is None or a == []:
        return b
    if b is None or b == []:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for k, v in b.items():
            out[k] = merge(out.get(k), v)
        return out
    if isinstance(a, list) and isinstance(b, list):
        return [merge(a[0], b[0])]
    return a


def differences(ours: Any, theirs: Any, path: str = "$", extras: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    if ours == [] or theirs == []:
        return [] if isinstance(ours, list) and isinstance(theirs, list) else [f"{path}: {ours!r} vs {theirs!r}"]
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out = [f"{path}.{k}: missing" for k in theirs if k not in ours]
        out += [f"{path}.{k}: not in the recording" for k in ours if k not in theirs and k not in extras]
        for k in ours.keys() & theirs.keys():
            out += differences(ours[k], theirs[k], f"{path}.{k}", extras)
        return out
    if isinstance(ours, list) and isinstance(theirs, list):
        return differences(ours[0], theirs[0], f"{path}[]", extras)
    return [] if ours == theirs else [f"{path}: {ours} vs {theirs}"]


def recording(exchange: str) -> list[dict[str, Any]]:
    path = CAPTURES / f"{exchange}.jsonl.zst"
    if not path.exists():
        pytest.skip(f"no recording at {path} (the captures folder sits next to the project)")
    import zstandard

    with path.open("rb") as f:
        text = zstandard.ZstdDecompressor().stream_reader(f).read().decode()
    return [json.loads(line) for line in text.splitlines()[1:]]


def recorded_shapes(exchange: str, kind: Callable[[dict[str, Any], str], str | None]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Merged shapes of recorded frames by kind, and of REST bodies by URL path (and Bybit category)."""
    frames: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for record in recording(exchange):
        if record["t"] == "recv" and "data" in record:
            message = json.loads(record["data"])
            key = kind(message, record["conn"])
            if key:
                frames[key] = merge(frames.get(key), shape(message))
        elif record["t"] == "http":
            route = "/" + record["url"].split("://", 1)[1].split("/", 1)[1].split("?")[0]
            if "category=" in record["url"]:
                route += "?category=" + record["url"].split("category=")[1].split("&")[0]
            rest[route] = merge(rest.get(route), shape(json.loads(record["data"])))
    return frames, rest


def listing_entry(exchange: str, route: str, entries: Callable[[Any], list[Any]]) -> Any:
    """The most common shape of one listed instrument in a recorded listing (fields vary a little)."""
    for record in recording(exchange):
        if record["t"] == "http" and route in record["url"]:
            counts: dict[str, int] = defaultdict(int)
            for entry in entries(json.loads(record["data"])):
                counts[json.dumps(shape(entry))] += 1
            return json.loads(max(counts, key=lambda k: counts[k]))
    raise AssertionError(f"no {route} in the recording")


Kind = Callable[[dict[str, Any], str], str | None]  # names a frame's kind from the frame and its connection


def our_frames(venue: Venue, market: Market, subs: dict[Channel, Sub], kind: Kind, extra: Iterable[str] = ()) -> dict[str, Any]:
    shapes: dict[str, Any] = defaultdict(lambda: None)
    events: list[MarketEvent] = []
    t = START
    while len(events) < 3000:
        t += 0.1
        events.extend(e for e in market.advance(t) if e.venue == venue.name)
    for frame in [*(venue.encode(e, subs[channel_of(e)]._replace(symbol=e.symbol)) for e in events), *extra]:
        message = json.loads(frame)
        key = kind(message, "")
        if key:
            shapes[key] = merge(shapes[key], shape(message))
    return dict(shapes)


def setup(name: str) -> tuple[Venue, Market]:
    settings = SimSettings.model_validate({"rate": 400, "venues": {name: {"rest_port": 0, "ws_port": 0}}})
    market = Market(settings, [name], START)
    view = VenueView(name, market, lambda: START, "http://127.0.0.1:1", "wss://127.0.0.1:2")
    return VENUES[name](view), market


def rest(venue: Venue, method: str, path: str, query: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Any:
    for route in venue.routes():
        if route.method == method and route.path == path:
            reply = route.handler(RestRequest(method, path, query or {}, headers or {}))
            assert reply.status == 200, reply.body
            return shape(json.loads(json.dumps(reply.body)))
    raise AssertionError(f"no route {method} {path}")


def talk(session: Session, *frames: dict[str, Any]) -> list[str]:
    return [reply for frame in frames for reply in session.on_text(json.dumps(frame))]


def check(ours: dict[str, Any], theirs: dict[str, Any], kinds: Iterable[str], extras: dict[str, set[str]] | None = None) -> None:
    problems = []
    for key in kinds:
        assert key in ours, f"the simulator sent no {key}"
        problems += [f"{key} {d}" for d in differences(ours[key], theirs[key], extras=(extras or {}).get(key, set()))]
    assert not problems, "\n".join(problems)


def test_binance() -> None:
    def kind(m: dict[str, Any], conn: str) -> str | None:
        return m["stream"].split("@", 1)[1] if "stream" in m else None

    theirs, theirs_rest = recorded_shapes("BINANCE", kind)
    venue, market = setup("binance")
    session = venue.open_session("/stream", {"streams": "btcusdt@depth@100ms/btcusdt@aggTrade/btcusdt@bookTicker"})
    subs = {s.channel: s for s in session.subs}
    check(our_frames(venue, market, subs, kind), theirs, ["depth@100ms", "aggTrade", "bookTicker"])
    info = rest(venue, "GET", "/api/v3/exchangeInfo")
    assert set(info) == set(theirs_rest["/api/v3/exchangeInfo"])
    assert not differences(info["symbols"][0], listing_entry("BINANCE", "/exchangeInfo", lambda b: b["symbols"]))
    assert not differences(rest(venue, "GET", "/api/v3/depth", {"symbol": "ETHBTC", "limit": "1000"}), theirs_rest["/api/v3/depth"])


def test_bybit() -> None:
    def kind(m: dict[str, Any], conn: str) -> str | None:
        if conn not in ("", "BYBIT.ws.3"):  # the recording's spot connection
            return None
        return f"{m['topic'].split('.')[0]}/{m['type']}" if "topic" in m else f"reply/{m.get('op')}"

    theirs, theirs_rest = recorded_shapes("BYBIT", kind)
    venue, market = setup("bybit")
    session = venue.open_session("/v5/public/spot", {})
    replies = talk(session, *({"op": "subscribe", "args": [t]} for t in ("tickers.BTCUSDT", "orderbook.200.BTCUSDT", "publicTrade.BTCUSDT")))
    subs = {s.channel: s for s in session.subs}
    ours = our_frames(venue, market, subs, kind, replies)
    check(ours, theirs, ["reply/subscribe", "orderbook/snapshot", "orderbook/delta", "publicTrade/snapshot", "tickers/snapshot"],
          extras={"tickers/snapshot": BYBIT_TICKER_EXTRAS})
    listing = rest(venue, "GET", "/v5/market/instruments-info", {"category": "spot"})
    recorded = theirs_rest["/v5/market/instruments-info?category=spot"]
    assert not differences({**listing, "result": {**listing["result"], "list": []}}, recorded)
    entry = listing_entry("BYBIT", "category=spot", lambda b: b["result"]["list"])
    assert not differences(listing["result"]["list"][0], entry)
    linear = rest(venue, "GET", "/v5/market/instruments-info", {"category": "linear"})
    assert linear["result"]["list"] == [] and set(linear["result"]) <= set(theirs_rest["/v5/market/instruments-info?category=linear"]["result"])


def test_gateio() -> None:
    def kind(m: dict[str, Any], conn: str) -> str | None:
        return f"{m['channel']}/{m['event']}"

    theirs, theirs_rest = recorded_shapes("GATEIO", kind)
    venue, market = setup("gateio")
    session = venue.open_session("/ws/v4/", {})
    replies = talk(
        session,
        {"time": 1, "channel": "spot.trades", "event": "subscribe", "payload": ["BTC_USDT"]},
        {"time": 1, "channel": "spot.order_book_update", "event": "subscribe", "payload": ["BTC_USDT", "100ms"]},
        {"time": 1, "channel": "spot.tickers", "event": "subscribe", "payload": ["BTC_USDT"]},
    )
    subs = {s.channel: s for s in session.subs}
    ours = our_frames(venue, market, subs, kind, replies)
    check(ours, theirs, ["spot.trades/subscribe", "spot.order_book_update/subscribe", "spot.tickers/subscribe",
                         "spot.order_book_update/update", "spot.trades/update", "spot.tickers/update"])
    pairs = rest(venue, "GET", "/api/v4/spot/currency_pairs")
    assert not differences(pairs[0], listing_entry("GATEIO", "/currency_pairs", lambda b: b))
    book = rest(venue, "GET", "/api/v4/spot/order_book", {"currency_pair": "ETH_BTC", "limit": "100", "with_id": "true"})
    assert not differences(book, theirs_rest["/api/v4/spot/order_book"])


def test_kucoin() -> None:
    def kind(m: dict[str, Any], conn: str) -> str | None:
        return m["topic"].split(":")[0] if "topic" in m else m["type"]

    theirs, theirs_rest = recorded_shapes("KUCOIN", kind)
    venue, market = setup("kucoin")
    bullet = venue.routes()[0].handler(RestRequest("POST", "/api/v1/bullet-public", {}, {}))
    token = bullet.body["data"]["token"]
    assert bullet.body["data"]["instanceServers"][0]["endpoint"] == "wss://127.0.0.1:2/endpoint"
    session = venue.open_session("/endpoint", {"token": token})
    replies = session.opening() + talk(session, *(
        {"id": 1, "type": "subscribe", "topic": f"{topic}: BTC-USDT,ETH-BTC", "privateChannel": False, "response": True}
        for topic in ("/market/match", "/market/ticker", "/market/level2")
    ))
    subs = {s.channel: s for s in session.subs}
    ours = our_frames(venue, market, subs, kind, replies)
    check(ours, theirs, ["welcome", "ack", "/market/level2", "/market/ticker", "/market/match"])
    symbols = rest(venue, "GET", "/api/v1/symbols")
    assert not differences({**symbols, "data": []}, theirs_rest["/api/v1/symbols"])
    assert not differences(symbols["data"][0], listing_entry("KUCOIN", "/api/v1/symbols", lambda b: b["data"]))
    signed = {h: "sim" for h in ("KC-API-KEY", "KC-API-SIGN", "KC-API-TIMESTAMP", "KC-API-PASSPHRASE")}
    level2 = rest(venue, "GET", "/api/v3/market/orderbook/level2", {"symbol": "ETH-BTC"}, signed)
    assert not differences(level2, theirs_rest["/api/v3/market/orderbook/level2"])
