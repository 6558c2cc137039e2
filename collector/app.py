"""Wiring of the collector process: which components run beside ingest, chosen from settings."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable

from collector.api import ApiComponent
from collector.fanout import fanout_component
from collector.health import HealthTracker
from collector.lake import lake_component
from collector.latest import LatestMarket
from collector.metrics import CollectorMetrics, registry_for
from collector.printer import EventFilter, JsonLinePrinter
from collector.rates import RateReporter
from collector.service import CollectorService, install_stop_signals
from shared.redact import Redactor, redact_logs
from shared.settings import Settings, SettingsError
from shared.settings.secrets import secret_values

LOG = logging.getLogger("collector")


def build_service(
    settings: Settings,
    source: str = "<settings>",
    print_filter: EventFilter | None = None,
    report: Callable[[str], None] | None = None,
    report_interval_s: float = 5.0,
) -> CollectorService:
    service = CollectorService(settings, source)
    health = HealthTracker(redact=Redactor(secret_values(settings)))
    health.expect(list(settings.exchanges))
    service.dispatcher.attach(health)
    if settings.lake.enabled:
        # First to start, last to stop: it flushes everything ingest produced before the process exits.
        lake = lake_component(settings, service.dispatcher)
        health.sections["lake"] = lambda: lake.stats().as_dict()
        service.add(lake)
    if settings.collector.capture_dir:
        health.sections["capture"] = lambda: service.capture.stats() if service.capture else {"bytes_queued": 0, "records_overflowed": 0}
    if settings.server.enabled:
        fanout = fanout_component(settings, service.dispatcher)
        health.sections["fanout"] = fanout.server.stats
        service.add(fanout)
    if settings.api.enabled:
        metrics = CollectorMetrics(service.counts, health, service.dispatcher.stats)
        market = LatestMarket()  # the latest ticker and book per venue and symbol, for /v1/tickers and /v1/spreads
        service.dispatcher.attach(market)
        service.add(ApiComponent(settings, health.snapshot, registry_for(metrics), market))
    if print_filter is not None:
        printer = JsonLinePrinter(print_filter)
        service.dispatcher.attach(printer)
        service.add(printer)
    if report is not None:
        rates = RateReporter(report, report_interval_s)
        service.dispatcher.attach(rates)
        service.add(rates)
    return service


async def run_until_stopped(service: CollectorService, duration_s: float | None = None) -> None:
    stop = asyncio.Event()
    install_stop_signals(stop, lambda name: LOG.info("%s received: shutting down", name))
    if duration_s is not None:
        asyncio.get_running_loop().call_later(duration_s, stop.set)
    await service.run(stop)


def log_to_stderr(settings: Settings, level: str | int) -> Redactor:
    """Log lines on stderr with credentials masked, whichever library writes them; returns the masking function."""
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redactor = Redactor(secret_values(settings))
    redact_logs(logging.getLogger().handlers, redactor)
    return redactor


def main(settings: Settings, source: str, print_filter: EventFilter | None = None, duration_s: float | None = None) -> int:
    redact = log_to_stderr(settings, settings.collector.log_level)
    service = build_service(settings, source, print_filter, report=None if print_filter else LOG.info)
    try:
        asyncio.run(run_until_stopped(service, duration_s))
    except SettingsError as exc:
        print(redact(f"spreadlake collector: configuration error: {exc}"), file=sys.stderr)
        return 2
    except OSError as exc:  # a venue that never answered, a port already taken
        print(redact(f"spreadlake collector: {exc}"), file=sys.stderr)
        return 1
    LOG.info("collector stopped; events per venue: %s", service.counts())
    return 0
