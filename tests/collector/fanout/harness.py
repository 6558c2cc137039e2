"""Helpers for the fan-out tests: a running component on a free port and raw protocol clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from websockets.asyncio.client import ClientConnection, connect

from collector.dispatch import Dispatcher
from collector.fanout import FanoutComponent, fanout_component
from shared.settings import settings_from_mapping

EXCHANGES = {
    "binance": {"endpoint": "live", "symbols": ["BTC-USDT", "ETH-USDT", "ETH-BTC"]},
    "bybit": {"endpoint": "live", "symbols": ["BTC-USDT", "ETH-USDT"], "channels": ["ticker", "trade"]},
}


SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"


@cache
def _validator(message_type: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / f"{message_type}.json").read_text()))


def conforms(frame: dict[str, Any]) -> dict[str, Any]:
    """Validate a received frame against the published JSON Schema of its type; returns it."""
    _validator(frame["type"]).validate(frame)
    return frame


@asynccontextmanager
async def running(**server: Any) -> AsyncIterator[tuple[FanoutComponent, Dispatcher]]:
    settings = settings_from_mapping({"exchanges": EXCHANGES, "server": {"port": 0, "close_timeout_s": 1.0, **server}})
    dispatcher = Dispatcher()
    component = fanout_component(settings, dispatcher)
    await component.start()
    try:
        yield component, dispatcher
    finally:
        await component.stop()


def client(url: str, **options: Any) -> Any:
    return connect(url, compression=None, max_size=None, proxy=None, **options)


async def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def ask(ws: ClientConnection, request: dict[str, Any] | str | bytes) -> dict[str, Any]:
    """Send one request and return the next frame."""
    await ws.send(request if isinstance(request, str | bytes) else json.dumps(request))
    return await recv(ws)


async def subscribed(ws: ClientConnection, **request: Any) -> list[dict[str, Any]]:
    """Subscribe and return the snapshot events once the final snapshot frame arrived."""
    reply = await ask(ws, {"op": "subscribe", **request})
    assert reply["type"] == "subscribed", reply
    events: list[dict[str, Any]] = []
    while True:
        frame = await recv(ws)
        assert frame["type"] == "snapshot", frame
        events.extend(frame["events"])
        if frame["final"]:
            return events
