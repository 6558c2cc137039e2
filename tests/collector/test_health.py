"""Feed health follows status events: a feed is healthy while connected and in sync."""

from __future__ import annotations

from collector.health import HealthTracker
from shared.events import Status, StatusKind


def status(exchange: str, kind: StatusKind, ts: int) -> Status:
    return Status(exchange=exchange, symbol=None, ts_event=ts, ts_recv=ts, kind=kind)


def test_feed_health_follows_connects_gaps_and_resyncs() -> None:
    health = HealthTracker()
    health.expect(["binance", "kucoin"])
    report = health.snapshot()
    assert report["status"] == "degraded" and not report["feeds"]["binance"]["healthy"]
    assert report["feeds"]["binance"]["last_status"] == "starting"

    for venue in ("binance", "kucoin"):
        health(status(venue, StatusKind.CONNECTED, 1))
    assert health.snapshot()["status"] == "ok"

    health(status("kucoin", StatusKind.GAP, 2))
    report = health.snapshot()
    assert report["problems"] == ["feed kucoin is not connected"] and report["feeds"]["kucoin"]["gaps"] == 1
    health(status("kucoin", StatusKind.RESYNC, 3))
    assert health.snapshot()["status"] == "ok"

    health(status("binance", StatusKind.DISCONNECTED, 4))
    assert not health.snapshot()["feeds"]["binance"]["healthy"]
    health(status("binance", StatusKind.CONNECTED, 5))
    binance = health.snapshot()["feeds"]["binance"]
    assert binance["healthy"] and binance["disconnects"] == 1 and binance["last_status"] == "connected"


def test_a_failing_section_degrades_health_and_names_its_error() -> None:
    health = HealthTracker()
    health.sections["lake"] = lambda: {"failing": True, "last_error": "disk full"}
    report = health.snapshot()
    assert report["status"] == "degraded" and report["problems"] == ["lake: disk full"]
