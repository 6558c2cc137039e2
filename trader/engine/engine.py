"""The trading engine: market events in, decisions and arbitrages out. Synchronous decisions on the
event's path, one leg controller task per approved arbitrage; no sockets (the service feeds it).

Per event: the market view and the paper venue take it in (a resting order the book crosses fills,
and the fill is journaled and routed to its arbitrage); then every active strategy instance trading
that venue and symbol plans, the risk manager decides each proposal, every decision is journaled, and
an approval is re-checked right before its first order (the kill switch may have come on since) and
handed to a `LegController`. Tick-to-decision runs from the event's arrival to the first order handed
to the executor, or to the decision not to trade.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterable
from decimal import Decimal
from typing import Any

import msgspec

from shared.clock import Clock
from shared.events import BookTop, Event, Trade
from shared.trading import (
    ArbitrageAttempt,
    ArbitrageState,
    Balances,
    Decision,
    Instruments,
    Order,
    OrderEvent,
    OrderType,
    Proposal,
    StrategyInstance,
    StrategyKind,
    TimeInForce,
)
from trader import recovery
from trader import strategies as strategy
from trader.engine.config import EngineConfig
from trader.engine.exposure import ExposureBook
from trader.engine.flatten import flatten as flatten_exposure
from trader.engine.instances import InstanceRegistry
from trader.engine.latency import LatencyRecorder
from trader.engine.legs import LegController, LegServices, apply_journal, cancel_journaled
from trader.engine.pnl import PnlLedger, max_drawdown, sharpe
from trader.engine.reports import ExposureUnhedged, KillReport, StopReport, TradingRefused
from trader.engine.reserved import ReservedLiquidity
from trader.engine.status import ArbitrageCounts, EngineState, EngineStatus
from trader.engine.versions import BookVersions
from trader.execution import ExecutionQueues, Executor, PaperExecutor
from trader.journal import Journal
from trader.market import MarketView
from trader.risk import InventoryReport, Portfolio, RiskManager, assess
from trader.strategies import limit_hedge

LOG = logging.getLogger("trader.engine")
ZERO = Decimal(0)
_DAY_NS = 86_400_000_000_000
_RESTING = frozenset({TimeInForce.GTC, TimeInForce.POST_ONLY})


class _Once:
    """Records one tick-to-decision sample, the first time it is called."""

    __slots__ = ("_record", "_start", "done")

    def __init__(self, record: Callable[[int], None], start: int) -> None:
        self._record, self._start, self.done = record, start, False

    def __call__(self) -> None:
        if not self.done:
            self.done = True
            self._record(time.perf_counter_ns() - self._start)


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
        self.services = LegServices(journal, queues, risk, view, instruments, clock, self.config, self._portfolio, self.context,
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
            self._launch(LegController(attempt, self.services, instance))
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

    # market data ----------------------------------------------------------------------

    async def on_event(self, event: Event, now_ns: int) -> None:
        arrived = time.perf_counter_ns()
        self.view.on_event(event)
        if self.paper is not None and isinstance(event, BookTop | Trade):
            self._executor_events(self.paper.on_book(event) if isinstance(event, BookTop) else self.paper.on_trade(event))
        if not isinstance(event, BookTop) or self.state not in (EngineState.RUNNING, EngineState.SAFE_MODE):
            return
        once = _Once(self.latency.record, arrived)
        instances = self.registry.touching(event.exchange, event.symbol)
        if instances:
            self._evaluate(instances, now_ns, once)
        if not self._starting:
            once()  # nothing approved: the decision not to trade

    def on_stream_gap(self) -> None:
        self.view.stream_gap()

    def on_reconnected(self) -> None:
        self.view.reconnected()

    def _evaluate(self, instances: Iterable[StrategyInstance], now: int, once: _Once) -> None:
        ctx = self.context(now)
        for instance in instances:
            resting = instance.kind is StrategyKind.LIMIT_HEDGE
            waiting = self.versions.waiting(instance)
            if waiting and not resting:
                continue  # its last attempt traded against one of these books, which still shows what it took
            plan = strategy.plan(ctx, instance, self._resting(instance.id))
            for cancel in plan.cancels:
                self._cancel_soon(cancel.client_order_id, cancel.reason)
            if waiting or plan.cancels or (resting and self._busy(instance.id)):
                # A resting order's cancels go at once; a new one is priced on the books that follow them (and once
                # an order or cancel on its way has been answered), so it is not queued behind them.
                continue
            traded = False
            for proposal in plan.proposals:
                self.proposals += 1
                decision = self.risk.decide(proposal, self._portfolio(), now)
                self.journal.record_decision(decision)
                if decision.approved:
                    traded = True
                    self.reserved.reserve(decision.proposal)
                    self._starting[instance.id] = self._starting.get(instance.id, 0) + 1
                    self._spawn(self._execute(decision, instance, once))
            if traded:
                self.versions.traded(instance)

    async def _execute(self, decision: Decision, instance: StrategyInstance, once: _Once) -> None:
        try:
            checked = self.risk.recheck(decision, self.clock())
            if not checked.approved:
                self.journal.record_decision(checked)
                once()
                return
            now = self.clock()
            attempt = ArbitrageAttempt.from_proposal(self._with_hedge_leg(checked.proposal, instance, now), self._attempt_id(), now,
                                                     self.config.time_bound_ns)
            self.journal.record_attempt(attempt)
            controller = LegController(attempt, self.services, instance, once)
        finally:
            self._starting[instance.id] -= 1
            if not self._starting[instance.id]:
                del self._starting[instance.id]
        self._changed(attempt)
        await self._run(controller)

    def _with_hedge_leg(self, proposal: Proposal, instance: StrategyInstance, now: int) -> Proposal:
        """A limit-then-hedge attempt carries its planned hedge as a second leg, so a maker fill leaves it
        partly filled (to be hedged) rather than complete."""
        if proposal.kind is not StrategyKind.LIMIT_HEDGE:
            return proposal
        maker = proposal.legs[0]
        hedge = limit_hedge.hedge(self.context(now), instance, maker.side, maker.amount)
        return msgspec.structs.replace(proposal, legs=(maker, *hedge.legs)) if hedge else proposal

    # executor events ----------------------------------------------------------------------

    def _executor_events(self, events: Iterable[OrderEvent]) -> None:
        for event in events:
            try:
                order = self.journal.record(event)
            except Exception as error:  # an order the journal does not know, or a transition it refuses
                LOG.error("executor event for %s not journaled: %s", event.client_order_id, error)
                self.risk.error(self.clock(), f"event for {event.client_order_id}: {error}")
                continue
            if order.attempt_id is None:
                continue
            controller = self._controllers.get(order.attempt_id)
            if controller is not None:
                controller.notify()
            else:
                self._late(order.attempt_id)

    def _late(self, attempt_id: str) -> None:
        """A fill for an arbitrage already over: recorded on it, and reported if it reopens exposure."""
        attempt = self.journal.attempt(attempt_id)
        if attempt is None:
            return
        updated = apply_journal(self.journal, attempt, self.clock())
        if updated is attempt:
            return
        self.journal.record_attempt(updated)
        self._changed(updated)
        if updated.state is ArbitrageState.FAILED_UNHEDGED and attempt.state is not ArbitrageState.FAILED_UNHEDGED:
            controller = LegController(updated, self.services)
            controller.finish()  # the same report as a controller ending failed-unhedged

    # instances ------------------------------------------------------------------------

    def instances(self) -> tuple[StrategyInstance, ...]:
        return self.registry.all()

    def add_instance(self, instance: StrategyInstance) -> StrategyInstance:
        added = self.registry.add(instance)
        self._inventory = None
        return added

    def pause_instance(self, instance_id: str) -> StrategyInstance:
        self._inventory = None
        return self.registry.pause(instance_id)

    def resume_instance(self, instance_id: str) -> StrategyInstance:
        self._inventory = None
        return self.registry.resume(instance_id)

    def remove_instance(self, instance_id: str) -> StrategyInstance:
        self._inventory = None
        self.versions.forget(instance_id)
        return self.registry.remove(instance_id)

    # kill switch, shutdown, reconciliation ------------------------------------------------------

    async def kill(self, flatten: bool, reason: str) -> KillReport:
        """Stop new proposals at once, cancel every open order, report the exposure left; unwind it only with `flatten`."""
        now = self.clock()
        self.risk.kill.engage(now, reason, flatten)
        self.state, self.reason = EngineState.KILLED, reason
        self.journal.record_risk_event("kill_switch", "engaged", f"{reason} (flatten: {flatten})")
        canceled = await self._cancel_all(lambda order: True, f"kill switch: {reason}")
        flattened, denied = await flatten_exposure(self.services, self.exposure, f"s{self.session_id}") if flatten else ((), ())
        net, by_venue = self._exposure()
        return KillReport(reason, self.clock(), canceled, net, by_venue, flattened, denied)

    async def stop(self, grace_s: float, reason: str = "shutdown") -> StopReport:
        """Stop new proposals, cancel resting limit orders, give in-flight legs `grace_s` to finish or hedge, end the session."""
        self.state, self.reason = EngineState.STOPPED, reason
        canceled = await self._cancel_all(lambda order: order.type is OrderType.LIMIT and order.time_in_force in _RESTING,
                                          f"shutdown: {reason}")
        running = set(self._tasks)
        if running:
            _, late = await asyncio.wait(running, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        unfinished = tuple(c.attempt for c in self._controllers.values())
        net, by_venue = self._exposure()
        self.journal.end_session(reason, self.ledger.session(self.session_id or 0))
        self.session_id = None
        await self.queues.close()
        return StopReport(reason, self.clock(), canceled, unfinished, net, by_venue)

    async def reconcile(self) -> recovery.Reconciliation | None:
        """Compare balances and open orders with the executor (skipped while an order is on its way)."""
        if any(c.sending for c in self._controllers.values()) or any(self.queues.pending(*key) for key in self.queues.keys()):
            return None
        result = await recovery.check(self.journal, self.executor, self.config.accounts)
        mismatch = "; ".join(result.problems()) or None
        self.risk.reconciled(self.clock(), mismatch)
        if mismatch:
            self.journal.record_risk_event("mismatch", "reconciliation", mismatch)
        await self.refresh_balances()
        return result

    async def refresh_balances(self) -> Balances:
        rows = [b for account in self.config.accounts for b in (await self.executor.balances(account)).values()]
        self.balances = Balances(rows)
        self._inventory = None
        return self.balances

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
        return strategy.StrategyContext(self.view, self.balances, self.instruments, now, self._new_id, self.reserved)

    def _portfolio(self) -> Portfolio:
        now = self.clock()
        net, _ = self._exposure()
        open_orders = sum(len(c.open_orders()) + int(c.sending) for c in self._controllers.values())
        return Portfolio(self.balances, net, open_orders, self.ledger.since(now - now % _DAY_NS), self._inventory_report())

    def _inventory_report(self) -> InventoryReport:
        if self._inventory is None:
            self._inventory = assess(strategy.requirements(self.context(self.clock()), self.registry.all()), self.balances)
        return self._inventory

    def _exposure(self) -> tuple[dict[str, Decimal], dict[str, dict[str, Decimal]]]:
        return self.exposure.total(c.attempt for c in self._controllers.values())

    def _price(self, asset: str) -> Decimal | None:
        price = self.view.price(asset, self.valuation_asset)
        return Decimal(repr(price)) if price is not None else None

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
        if final.is_final:
            self._settled(final)
            with contextlib.suppress(Exception):
                await self.refresh_balances()

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

    def _cancel_soon(self, client_order_id: str, reason: str) -> None:
        order = self.journal.order(client_order_id)
        if order is None or not order.is_open or client_order_id in self._canceling:
            return
        self._canceling.add(client_order_id)
        self._spawn(self._cancel(order, reason))

    async def _cancel(self, order: Order, reason: str) -> Order:
        try:
            result = await cancel_journaled(self.journal, self.queues, order, reason, self.clock())
        except Exception as error:
            self.risk.error(self.clock(), f"cancel {order.client_order_id}: {error}")
            return order
        finally:
            self._canceling.discard(order.client_order_id)
        if order.attempt_id in self._controllers:
            self._controllers[order.attempt_id].notify()
        return result

    async def _cancel_all(self, which: Callable[[Order], bool], reason: str) -> tuple[Order, ...]:
        orders = [o for o in self.journal.orders(final=False) if o.is_open and which(o)]
        results = await asyncio.gather(*(self._cancel(o, reason) for o in orders))
        return tuple(results)


def _copy(table: dict[str, dict[str, Decimal]]) -> dict[str, dict[str, Decimal]]:
    return {key: dict(row) for key, row in table.items()}
