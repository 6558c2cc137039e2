"""Feed health follows status events: a feed is healthy while connected and in sync."""

from __future__ import annotations

from collector.health import HealthTracker
from shared.events import Status, StatusKind
from shared.redact import Redactor


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


def test_the_report_masks_credentials_in_details_and_component_errors() -> None:
    health = HealthTracker(redact=Redactor(["PLANTED-s3-secret"]))
    health.expect(["kucoin"])
    health(Status("kucoin", None, 1, 1, StatusKind.DISCONNECTED, "wss://h/endpoint?token=T0KEN: closed"))
    health.sections["lake"] = lambda: {"failing": True, "last_error": "signature for PLANTED-s3-secret rejected", "rows": 3}
    report = health.snapshot()
    assert report["feeds"]["kucoin"]["last_detail"] == "wss://h/endpoint?token=***: closed"
    assert report["lake"] == {"failing": True, "last_error": "signature for *** rejected", "rows": 3}
    assert report["problems"] == ["feed kucoin is not connected", "lake: signature for *** rejected"]
