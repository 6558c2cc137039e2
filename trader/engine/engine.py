"""The trading engine: market events in, decisions and arbitrages out. Synchronous decisions on the
event's path, one leg controller task per approved arbitrage; no sockets (the service feeds it).

Per event: the market view and the paper venue take it in (a resting order the book crosses fills,
and the fill is journaled and routed to its arbitrage); then every active strategy instance trading
that venue and symbol plans, the risk manager decides each proposal, every decision is journaled, and
an approval is re-checked right before its first order (the kill switch may have come on since) and
handed to a `LegController`. Tick-to-decision runs from the event's arrival to the first order handed
to the executor, or to the decision not to trade.

This module holds the engine's state, its start, status and what controllers and strategies read; the event
path is `evaluation`, and instance control, the kill switch, shutdown, reconciliation and cancels are
`control` (plain functions of the engine, which its methods call).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterable
from decimal import Decimal
from typing import Any

from shared.clock import Clock
from shared.events import Event
from shared.trading import (
    ArbitrageAttempt,
    ArbitrageState,
    Balances,
    Decision,
    Instruments,
    Order,
    OrderEvent,
    Proposal,
    StrategyInstance,
    TimeInForce,
    to_decimal,
)
from trader import recovery
from trader import strategies as strategy
from trader.engine import control, evaluation
from trader.engine.commitments import Commitments
from trader.engine.config import EngineConfig
from trader.engine.exposure import ExposureBook
from trader.engine.instances import InstanceRegistry
from trader.engine.latency import LatencyRecorder
from trader.engine.legs import LegController, LegServices
from trader.engine.pnl import PnlLedger, max_drawdown, sharpe
from trader.engine.reports import ExposureUnhedged, KillReport, StopReport, TradingRefused
from trader.engine.reserved import ReservedLiquidity
from trader.engine.status import ArbitrageCounts, EngineState, EngineStatus
from trader.engine.versions import BookVersions
from trader.execution import ExecutionQueues, Executor, PaperExecutor
from trader.journal import Journal
from trader.market import MarketView
from trader.risk import InventoryReport, Portfolio, RiskManager, assess

LOG = logging.getLogger("trader.engine")
ZERO = Decimal(0)
_DAY_NS = 86_400_000_000_000
_RESTING = frozenset({TimeInForce.GTC, TimeInForce.POST_ONLY})


class TradingEngine:
    def __init__(self, *, journal: Journal, executor: Executor, queues: ExecutionQueues, risk: RiskManager, view: MarketView,
                 instruments: Instruments, clock: Clock, config: EngineConfig | None = None,
                 configured: Iterable[StrategyInstance] = ()) -> None:
        self.journal, self.executor, self.queues, self.risk, self.view = journal, executor, queues, risk, view
        self.instruments, self.clock = instruments, clock
        self.config = config or EngineConfig()
        self._configured = tuple(configured)
        self.paper = executor if isinstance(executor, PaperExecutor) else None
        self.registry = InstanceRegistry(journal, instruments)
        self.latency = LatencyRecorder(self.config.latency_samples)
        self.valuation_asset = risk.config.limits.valuation_asset
        self.ledger = PnlLedger(self.valuation_asset, self._price)
        self.exposure = ExposureBook(self.valuation_asset)
        self.balances = Balances()
        self.reserved = ReservedLiquidity(view)  # what approved taker orders are about to take from each book
        self.versions = BookVersions(view)  # the books each instance's last attempt was based on
        self.commitments = Commitments()  # the orders and funds approved and running attempts will still take
        self._inventory: InventoryReport | None = None
        self._controllers: dict[str, LegController] = {}
        self._tasks: set[asyncio.Task[object]] = set()
        self._starting: dict[str, int] = {}  # instance id -> approvals not yet handed to a controller
        self._canceling: set[str] = set()
        self._recent: OrderedDict[str, ArbitrageAttempt] = OrderedDict()
        self._counts = {"succeeded": 0, "failed": 0, "aborted": 0}
        self.proposals = 0  # made by the strategies, each decided by the risk manager
        self.settled: list[Callable[[ArbitrageAttempt], None]] = []  # told of each arbitrage that reaches a final state
        self._ids = itertools.count(1)
        self.session_id: int | None = None
        self.state, self.reason = EngineState.IDLE, ""
        self.services = LegServices(journal, queues, risk, view, instruments, clock, self.config, self._hedge_portfolio, self._hedge_context,
                                    self._new_id, self._changed, self._reported, self.refresh_balances, self.reserved.reserve)

    # life cycle -----------------------------------------------------------------------

    async def start(self) -> recovery.RecoveryReport:
        """Start a session and reconcile with the executor before trading; raises `TradingRefused` if it cannot."""
        self.session_id = self.journal.start_session()
        report = await recovery.recover(self.journal, self.executor, self.clock, self.config.accounts)
        if not report.may_trade:
            self.state, self.reason = EngineState.REFUSED, report.reason
            self.journal.end_session(f"refused: {report.reason}")
            self.session_id = None
            raise TradingRefused(report.reason)
        if report.safe_mode:
            self.risk.reconciled(self.clock(), report.reason)
        self.registry.load(self._configured)
        await self.refresh_balances()
        for attempt in self.journal.attempts(in_flight=True):  # exposure left by the last run is hedged first
            instance = next((i for i in self.registry.all() if i.id == attempt.instance_id), None)
            self._launch(LegController(attempt, self.services, instance, resumed=True))
        self.state = EngineState.RUNNING
        return report

    async def drain(self) -> None:
        """Wait until every arbitrage and cancel under way has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        """Close the journal and the paper store (what a crash leaves behind, without `stop`)."""
        self.journal.close()
        if self.paper is not None:
            self.paper.close()

    # the event path (`evaluation`) -------------------------------------------------------

    async def on_event(self, event: Event, now_ns: int) -> None:
        await evaluation.on_event(self, event, now_ns)

    @property
    def handing_over(self) -> bool:
        """Approvals wait for their controllers' tasks, which hand their first orders over when the loop runs
        them: a feed yields after such an event instead of at the end of its frame."""
        return bool(self._starting)

    def on_stream_gap(self) -> None:
        evaluation.on_stream_gap(self)

    def on_reconnected(self) -> None:
        evaluation.on_reconnected(self)

    def _evaluate(self, instances: Iterable[StrategyInstance], now: int, once: evaluation.Once) -> None:
        evaluation.evaluate(self, instances, now, once)

    async def _execute(self, decision: Decision, instance: StrategyInstance, once: evaluation.Once) -> None:
        await evaluation.execute(self, decision, instance, once)

    def _with_hedge_leg(self, proposal: Proposal, instance: StrategyInstance, now: int) -> Proposal:
        return evaluation.with_hedge_leg(self, proposal, instance, now)

    def _executor_events(self, events: Iterable[OrderEvent]) -> None:
        evaluation.executor_events(self, events)

    def _late(self, attempt_id: str) -> None:
        evaluation.late(self, attempt_id)

    # instances, kill switch, shutdown, reconciliation, cancels (`control`) ------------------------

    def instances(self) -> tuple[StrategyInstance, ...]:
        return control.instances(self)

    def add_instance(self, instance: StrategyInstance) -> StrategyInstance:
        return control.add_instance(self, instance)

    def pause_instance(self, instance_id: str) -> StrategyInstance:
        return control.pause_instance(self, instance_id)

    def resume_instance(self, instance_id: str) -> StrategyInstance:
        return control.resume_instance(self, instance_id)

    def remove_instance(self, instance_id: str) -> StrategyInstance:
        return control.remove_instance(self, instance_id)

    async def kill(self, flatten: bool, reason: str) -> KillReport:
        """Stop new proposals at once, cancel every open order, report the exposure left; unwind it only with `flatten`."""
        return await control.kill(self, flatten, reason)

    async def stop(self, grace_s: float, reason: str = "shutdown") -> StopReport:
        """Stop new proposals, cancel resting limit orders, give in-flight legs `grace_s` to finish or hedge, end the session."""
        return await control.stop(self, grace_s, reason)

    def observe_staleness(self) -> None:
        """Let the risk manager look at every venue/symbol an active instance trades: stale data there
        enters safe mode after `stale_after_s`; errors age out. The service and the backtest call it about once a second."""
        traded = {(venue, symbol) for i in self.instances() if i.active for venue in i.venues for symbol in i.symbols}
        self.risk.observe(self.clock(), sorted(traded))

    async def reconcile(self) -> recovery.Reconciliation | None:
        """Compare balances and open orders with the executor (skipped while an order is on its way)."""
        return await control.reconcile(self)

    async def refresh_balances(self) -> Balances:
        return await control.refresh_balances(self)

    def _cancel_soon(self, client_order_id: str, reason: str) -> None:
        control.cancel_soon(self, client_order_id, reason)

    async def _cancel(self, order: Order, reason: str) -> Order:
        return await control.cancel(self, order, reason)

    async def _cancel_all(self, which: Callable[[Order], bool], reason: str) -> tuple[Order, ...]:
        return await control.cancel_all(self, which, reason)

    # status ----------------------------------------------------------------------------

    def status(self) -> EngineStatus:
        now = self.clock()
        risk = self.risk.status(now)
        state, reason = self.state, self.reason
        if state is EngineState.RUNNING and risk.safe_mode.active:
            state, reason = EngineState.SAFE_MODE, risk.safe_mode.last_reason
        net, _ = self._exposure()
        series = self.ledger.series()
        inventory = self._inventory_report()
        return EngineStatus(
            state=state, reason=reason, ts=now, session_id=self.session_id, balances=self.balances.as_tuple(), positions=net,
            open_orders=tuple(o for o in self.journal.orders(final=False) if o.is_open),
            recent_arbitrages=tuple(reversed(self._recent.values())), in_flight=len(self._controllers),
            pnl_by_venue=_copy(self.ledger.by_venue), pnl_by_instance=_copy(self.ledger.by_instance),
            pnl_by_session=_copy(self.ledger.by_session), counts=ArbitrageCounts(**self._counts), max_drawdown=max_drawdown(series),
            sharpe=sharpe(series), risk=risk, shortfalls=inventory.shortfalls, unhedged=self.exposure.reports(),
            tick_to_decision=self.latency.summary(), instances=self.registry.all(),
        )

    # what the controllers and strategies read -------------------------------------------------

    def context(self, now: int) -> strategy.StrategyContext:
        """What strategies plan on: the balances less what approved and running attempts will still spend."""
        return strategy.StrategyContext(self.view, self.commitments.available(self.balances), self.instruments, now, self._new_id,
                                        self.reserved)

    def _portfolio(self, committed: bool = True) -> Portfolio:
        """What the risk manager decides on: every order approved and running attempts will still place, and
        (`committed`) the balances less what they will still spend."""
        now = self.clock()
        net, _ = self._exposure()
        open_orders = self.commitments.orders(c.attempt for c in self._controllers.values())
        balances = self.commitments.available(self.balances) if committed else self.balances
        return Portfolio(balances, net, open_orders, self.ledger.since(now - now % _DAY_NS), self._inventory_report())

    def _hedge_portfolio(self) -> Portfolio:
        """A hedge closes exposure the attempt holds: it may spend what the attempt itself reserved."""
        return self._portfolio(committed=False)

    def _hedge_context(self, now: int) -> strategy.StrategyContext:
        return strategy.StrategyContext(self.view, self.balances, self.instruments, now, self._new_id, self.reserved)

    def _inventory_report(self) -> InventoryReport:
        if self._inventory is None:
            self._inventory = assess(strategy.requirements(self.context(self.clock()), self.registry.all()), self.balances)
        return self._inventory

    def _exposure(self) -> tuple[dict[str, Decimal], dict[str, dict[str, Decimal]]]:
        return self.exposure.total(c.attempt for c in self._controllers.values())

    def _price(self, asset: str) -> Decimal | None:
        price = self.view.price(asset, self.valuation_asset)
        return to_decimal(price) if price is not None else None

    def _new_id(self) -> str:
        return f"s{self.session_id}-p{next(self._ids)}"

    def _attempt_id(self) -> str:
        return f"s{self.session_id}-a{next(self._ids)}"

    def _busy(self, instance_id: str) -> bool:
        return instance_id in self._starting or any(c.sending or any(cid in self._canceling for cid in c.open_orders())
                                                    for c in self._controllers.values() if c.attempt.instance_id == instance_id)

    def _resting(self, instance_id: str) -> tuple[Order, ...]:
        """The instance's open resting orders (a limit-then-hedge strategy's maker orders)."""
        orders = []
        for controller in self._controllers.values():
            if controller.attempt.instance_id == instance_id:
                for cid in controller.open_orders():
                    order = self.journal.order(cid)
                    if order is not None and order.is_open and order.time_in_force in _RESTING and cid not in self._canceling:
                        orders.append(order)  # its resting orders, not the hedges of their fills
        return tuple(orders)

    # tasks and callbacks -------------------------------------------------------------------

    def _launch(self, controller: LegController) -> None:
        self._spawn(self._run(controller))

    async def _run(self, controller: LegController) -> None:
        self._controllers[controller.attempt.id] = controller
        try:
            final = await controller.run()
        finally:
            self._controllers.pop(controller.attempt.id, None)
        try:
            if final.is_final:
                self._settled(final)
                with contextlib.suppress(Exception):
                    await self.refresh_balances()
        finally:
            self.commitments.settled(final.id)  # the balances now show what it spent

    def _spawn(self, work: Coroutine[Any, Any, object]) -> None:
        task: asyncio.Task[object] = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _settled(self, attempt: ArbitrageAttempt) -> None:
        if attempt.state is ArbitrageState.ABORTED:
            self._counts["aborted"] += 1
        else:
            self._counts["failed" if attempt.state is ArbitrageState.FAILED_UNHEDGED else "succeeded"] += 1
            if attempt.anything_filled:
                self.ledger.add(attempt, self.session_id or 0, self.clock())
        for listener in self.settled:
            try:
                listener(attempt)
            except Exception:  # a report that fails must not stop the trading
                LOG.exception("listener of settled arbitrage %s failed", attempt.id)

    def _changed(self, attempt: ArbitrageAttempt) -> None:
        self._recent[attempt.id] = attempt
        self._recent.move_to_end(attempt.id)
        while len(self._recent) > self.config.recent_arbitrages:
            self._recent.popitem(last=False)

    def _reported(self, report: ExposureUnhedged) -> None:
        self.exposure.add_report(report)
        self.risk.unhedged(self.clock(), self.exposure.unhedged())


def _copy(table: dict[str, dict[str, Decimal]]) -> dict[str, dict[str, Decimal]]:
    return {key: dict(row) for key, row in table.items()}
