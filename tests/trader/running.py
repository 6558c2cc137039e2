"""A running trader for tests: the real fan-out server on loopback fed by a Dispatcher (the collector's own
parts, no exchange), a `TraderService` on it with its API on a free port, and books the test publishes.

Venues binance and bybit trade BTC-USDT (tick 0.01, lot 0.001, fees 10 bps); each holds 10000 USDT and 1 BTC.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.dispatch import Dispatcher
from collector.fanout import FanoutComponent, fanout_component
from shared.events import BookTop, Status, StatusKind
from shared.settings import Settings, settings_from_mapping
from trader.service import TraderService

VENUES = ("binance", "bybit")
EXCHANGES = {venue: {"endpoint": "live", "symbols": ["BTC-USDT"]} for venue in VENUES}
SPEC = {"taker_fee_bps": 10, "maker_fee_bps": 10, "symbols": {"BTC-USDT": {"tick": 0.01, "lot": 0.001, "min_notional": 10}}}
XEX = {"id": "xex", "kind": "cross_exchange", "venues": ["binance", "bybit"], "symbols": ["BTC-USDT"], "size": 0.5, "min_profit_bps": 10}
# Rests a bid on binance priced to clear 10 bps when sold on bybit: with quiet books, 99.80 against bybit's 100.00 bid.
RESTING = {"id": "rest", "kind": "limit_hedge", "venues": ["binance", "bybit"], "symbols": ["BTC-USDT"], "size": 0.2,
           "min_profit_bps": 10, "sides": ["buy"]}
TRADER: dict[str, Any] = {
    "venues": {venue: SPEC for venue in VENUES},
    "paper": {"latency_ms": 0, "balances": {venue: {"USDT": 10000, "BTC": 1} for venue in VENUES}},
    "shutdown_grace_s": 5,
    "api": {"port": 0},
    "instances": [XEX],
}
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def trader_mapping(tmp_path: Path, stream_port: int, **trader: Any) -> dict[str, Any]:
    section = copy.deepcopy(TRADER)
    section.update(journal_path=str(tmp_path / "journal.sqlite"), paper_store_path=str(tmp_path / "paper.sqlite"))
    section["stream"] = {"url": f"ws://127.0.0.1:{stream_port}/"}
    for key, value in trader.items():
        if isinstance(value, dict) and isinstance(section.get(key), dict):
            section[key] = {**section[key], **value}
        else:
            section[key] = value
    return {"exchanges": EXCHANGES, "server": {"port": stream_port, "close_timeout_s": 1.0, "heartbeat_s": 0.5}, "trader": section}


def book(venue: str, bid: float, ask: float, size: float = 5.0) -> BookTop:
    now = time.time_ns()
    return BookTop(venue, "BTC-USDT", now, now, ((bid, size), (round(bid - 0.1, 2), size)), ((ask, size), (round(ask + 0.1, 2), size)), None)


def quiet(dispatcher: Dispatcher) -> None:
    """Books with no edge between the venues."""
    dispatcher.publish(book("binance", 99.90, 100.10))
    dispatcher.publish(book("bybit", 100.00, 100.10))


def status(venue: str, kind: StatusKind, symbol: str | None = None) -> Status:
    now = time.time_ns()
    return Status(venue, symbol, now, now, kind, f"test: {kind.value}")


@dataclass
class Running:
    service: TraderService
    dispatcher: Dispatcher
    fanout: FanoutComponent
    stop: asyncio.Event
    task: asyncio.Task[int]
    reports: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.service.api is not None
        return self.service.api.url

    async def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        return await asyncio.to_thread(http, method, self.url + path, body, headers)

    async def get(self, path: str) -> Any:
        code, body = await self.call("GET", path)
        assert code == 200, (path, code, body)
        return body

    async def until(self, predicate: Any, timeout_s: float = 5.0, every_s: float = 0.05) -> Any:
        """Poll GET /status until `predicate(status)` is truthy; returns that status."""
        deadline = time.monotonic() + timeout_s
        while True:
            body = await self.get("/status")
            if predicate(body):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"not reached within {timeout_s} s; last status: {json.dumps(body)[:3000]}")
            await asyncio.sleep(every_s)


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """(status, decoded JSON or text), error statuses included."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={**(headers or {}), **({"Content-Type": "application/json"} if data is not None else {})})
    try:
        with _OPENER.open(request, timeout=10) as reply:
            return int(reply.status), _decode(reply.read(), reply.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as exc:
        return exc.code, _decode(exc.read(), exc.headers.get("Content-Type", ""))


def _decode(raw: bytes, content_type: str) -> Any:
    return json.loads(raw) if content_type.startswith("application/json") else raw.decode()


def market_state(status_body: dict[str, Any], venue: str, symbol: str = "BTC-USDT") -> dict[str, Any]:
    state: dict[str, Any] = next(m for m in status_body["market"] if (m["venue"], m["symbol"]) == (venue, symbol))
    return state


async def start_fanout(port: int = 0) -> tuple[FanoutComponent, Dispatcher]:
    dispatcher = Dispatcher()
    component = fanout_component(settings_from_mapping(trader_mapping(Path("/nonexistent"), port)), dispatcher)
    await component.start()
    return component, dispatcher


def port_of(component: FanoutComponent) -> int:
    return int(component.url.rstrip("/").rsplit(":", 1)[1])


@asynccontextmanager
async def running_trader(tmp_path: Path, *, publish: bool = True, **trader: Any) -> AsyncIterator[Running]:
    """The fan-out server (with quiet books unless `publish` is false) and a started trader on it."""
    fanout, dispatcher = await start_fanout()
    running: Running | None = None
    try:
        if publish:
            quiet(dispatcher)
        settings: Settings = settings_from_mapping(trader_mapping(tmp_path, port_of(fanout), **trader))
        reports: list[str] = []
        service = TraderService(settings, report=reports.append, housekeeping_s=0.1, check_timeout_s=2.0)
        stop = asyncio.Event()
        task = asyncio.create_task(service.run(stop))
        ready = asyncio.create_task(service.ready.wait())
        await asyncio.wait({task, ready}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        if not service.ready.is_set():
            ready.cancel()
            raise AssertionError(f"the trader did not start: {reports}; {task.result() if task.done() else 'still starting'}")
        running = Running(service, dispatcher, fanout, stop, task, reports)
        try:
            yield running
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.shield(task), 20)
    finally:
        await (running.fanout if running is not None else fanout).stop()
