"""Prometheus metrics of the collector, read from its components at scrape time (nothing on the hot path)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from collector.health import HealthTracker


class CollectorMetrics(Collector):
    def __init__(self, counts: Callable[[], dict[str, dict[str, int]]], health: HealthTracker,
                 dispatcher_stats: Callable[[], dict[str, int]]) -> None:
        self._counts = counts
        self._health = health
        self._dispatcher = dispatcher_stats

    def collect(self) -> Iterator[Metric]:
        events = CounterMetricFamily("spreadlake_events", "Normalized events dispatched", labels=["exchange", "channel"])
        for exchange, channels in sorted(self._counts().items()):
            for channel, n in sorted(channels.items()):
                events.add_metric([exchange, channel], n)
        yield events

        report = self._health.snapshot()
        connected = GaugeMetricFamily("spreadlake_feed_healthy", "1 while a feed is connected and in sync", labels=["exchange"])
        for kind in ("disconnects", "gaps", "resyncs"):
            family = CounterMetricFamily(f"spreadlake_feed_{kind}", f"Feed {kind} since start", labels=["exchange"])
            for exchange, feed in report["feeds"].items():
                family.add_metric([exchange], feed[kind])
            yield family
        for exchange, feed in report["feeds"].items():
            connected.add_metric([exchange], 1.0 if feed["healthy"] else 0.0)
        yield connected

        dispatcher = self._dispatcher()
        yield CounterMetricFamily("spreadlake_consumer_errors", "Exceptions raised by dispatch consumers",
                                  value=dispatcher["consumer_errors"])
        for section, data in sorted(report.items()):
            if isinstance(data, dict) and section not in ("feeds",):
                yield from _section_metrics(section, data)


def _section_metrics(section: str, data: dict[str, Any]) -> Iterator[Metric]:
    """Every numeric field of a component's health section becomes a gauge `spreadlake_<section>_<field>`."""
    for key, value in sorted(data.items()):
        if isinstance(value, int | float):  # bool is an int: `failing` becomes 0 or 1
            yield GaugeMetricFamily(f"spreadlake_{section}_{key}", f"{section} {key.replace('_', ' ')}", value=float(value))


def registry_for(metrics: CollectorMetrics) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)
    return registry
