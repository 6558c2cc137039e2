"""Prometheus metrics of the trader, read from the engine, the journal and the stream at scrape time (nothing
on the hot path). Counters count since this process started; PnL is realized, after fees, per profit asset."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from trader.engine import EngineState, TradingEngine
from trader.feed import Feed
from trader.risk import BreakerState

_P = "spreadlake_trader"


class TraderMetrics(Collector):
    def __init__(self, engine: TradingEngine, feed: Callable[[], Feed | None]) -> None:
        self._engine = engine
        self._feed = feed

    def collect(self) -> Iterator[Metric]:
        engine = self._engine
        status = engine.status()
        yield CounterMetricFamily(f"{_P}_proposals", "Proposals made by the strategies", value=engine.proposals)
        decisions = CounterMetricFamily(f"{_P}_decisions", "Risk decisions, by verdict and reason", labels=["verdict", "reason"])
        for key, n in sorted(status.risk.decisions.items()):
            verdict, reason = key.split("/", 1)
            decisions.add_metric([verdict, reason], n)
        yield decisions

        session = engine.session_id
        orders = GaugeMetricFamily(f"{_P}_orders", "Orders of this session, by state", labels=["state"])
        for state, n in sorted((engine.journal.order_counts(session) if session is not None else {}).items()):
            orders.add_metric([state], n)
        yield orders
        yield CounterMetricFamily(f"{_P}_fills", "Fills of this session", value=engine.journal.fill_count(session) if session is not None else 0)
        yield GaugeMetricFamily(f"{_P}_open_orders", "Orders open now", value=len(status.open_orders))
        arbitrages = CounterMetricFamily(f"{_P}_arbitrages", "Arbitrages ended, by result", labels=["result"])
        for result in ("succeeded", "failed", "aborted"):
            arbitrages.add_metric([result], getattr(status.counts, result))
        yield arbitrages
        yield GaugeMetricFamily(f"{_P}_arbitrages_in_flight", "Arbitrages under way", value=status.in_flight)

        yield _table(f"{_P}_realized_pnl_venue", "Realized PnL after fees, per venue", "venue", status.pnl_by_venue)
        yield _table(f"{_P}_realized_pnl_instance", "Realized PnL after fees, per strategy instance", "instance", status.pnl_by_instance)
        current = {k: v for k, v in status.pnl_by_session.items() if session is not None and k == str(session)}
        yield _table(f"{_P}_realized_pnl_session", "Realized PnL after fees, this session", "session", current)
        yield GaugeMetricFamily(f"{_P}_max_drawdown", "Maximum drawdown of the realized PnL, in the valuation asset",
                                value=float(status.max_drawdown))
        exposure = GaugeMetricFamily(f"{_P}_exposure", "Net exposure of unfinished and unhedged arbitrages", labels=["asset"])
        for asset, amount in sorted(status.positions.items()):
            exposure.add_metric([asset], float(amount))
        yield exposure
        balances = GaugeMetricFamily(f"{_P}_balance", "Balances (free + locked)", labels=["venue", "asset"])
        for balance in status.balances:
            balances.add_metric([balance.venue, balance.asset], float(balance.total))
        yield balances

        latency = engine.latency
        buckets = [(_seconds(bound), count) for bound, count in latency.histogram()]
        histogram = HistogramMetricFamily(f"{_P}_tick_to_decision_seconds", "From a market event's arrival to the first order "
                                          "handed to the executor, or to the decision not to trade")
        histogram.add_metric([], buckets, latency.sum_ns / 1e9)
        yield histogram

        risk = status.risk
        yield GaugeMetricFamily(f"{_P}_safe_mode", "1 while in safe mode", value=float(risk.safe_mode.active))
        yield GaugeMetricFamily(f"{_P}_kill_switch", "1 once the kill switch is engaged", value=float(risk.killed))
        breaker = GaugeMetricFamily(f"{_P}_breaker", "Circuit breaker state (1 for the current one)", labels=["state"])
        for state in BreakerState:
            breaker.add_metric([state.value], float(risk.breaker is state))
        yield breaker
        states = GaugeMetricFamily(f"{_P}_state", "Trader state (1 for the current one)", labels=["state"])
        for state in EngineState:
            states.add_metric([state.value], float(status.state is state))
        yield states
        yield from _stream(self._feed(), engine, status.ts)


def _stream(feed: Feed | None, engine: TradingEngine, now: int) -> Iterator[Metric]:
    tradeable = GaugeMetricFamily(f"{_P}_tradeable", "1 while a venue/symbol can be traded", labels=["venue", "symbol"])
    for venue, symbol in sorted(engine.instruments):
        tradeable.add_metric([venue, symbol], float(engine.view.tradeable(venue, symbol, now)))
    yield tradeable
    if feed is None:
        return
    yield CounterMetricFamily(f"{_P}_stream_events", "Market events received from the collector", value=feed.events)
    notices = CounterMetricFamily(f"{_P}_stream_notices", "Stream notices, by kind", labels=["kind"])
    for kind, n in sorted(feed.notices.items()):
        notices.add_metric([kind], n)
    yield notices
    yield GaugeMetricFamily(f"{_P}_stream_connected", "1 while connected to the collector", value=float(feed.connected))


def _table(name: str, doc: str, label: str, table: Mapping[str, Mapping[str, Decimal]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label, "asset"])
    for key, row in sorted(table.items()):
        for asset, amount in sorted(row.items()):
            family.add_metric([key, asset], float(amount))
    return family


def _seconds(bound_ns: float) -> str:
    return "+Inf" if bound_ns == float("inf") else repr(bound_ns / 1e9)


def registry_for(metrics: TraderMetrics) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)
    return registry
