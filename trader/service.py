"""The trader process: `spreadlake trader --config FILE`.

    pre-start check -> engine.start() (recovery; refuses to trade if it cannot reconcile) -> API up ->
    stream into the engine, with periodic housekeeping -> on stop: engine.stop(grace) -> stream, API down

Housekeeping, about once a second: the risk manager looks at how long each traded venue/symbol has been
untradeable (stale data enters safe mode); balances and open orders are reconciled with the executor
every `reconcile_interval_s`; a summary line with the running PnL every `summary_interval_s`. Each
arbitrage that ends having filled something gets a line of its own.

On SIGTERM/SIGINT (the caller sets `stop`) the engine stops proposing, cancels resting limit orders and
gives in-flight legs the shutdown grace while the stream still feeds it books (a paper hedge fills
against them); then the session ends in the journal and everything closes. `run` returns the exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from shared.client import ClientError, FanoutClient
from shared.clock import Clock, now_ns
from shared.settings import Settings
from shared.settings.trader import InstanceSettings, trader_problem
from shared.trading import ArbitrageAttempt, StrategyInstance
from trader import checks, lines, overview
from trader.api import ApiComponent
from trader.api.bodies import Conflict, InstanceRejected, SafeModeExit, SessionBody, StatusBody
from trader.config import TraderConfig, strategy_instance, trader_config
from trader.engine import EngineConfig, EngineState, KillReport, TradingEngine, TradingRefused, attempt_pnl, build_engine
from trader.feed import Feed, subscriptions
from trader.metrics import TraderMetrics, registry_for

LOG = logging.getLogger("trader")
_TRADING = frozenset({EngineState.RUNNING, EngineState.SAFE_MODE})


class TraderService:
    def __init__(self, settings: Settings, *, clock: Clock = now_ns, report: Callable[[str], None] | None = None,
                 engine_config: EngineConfig | None = None, housekeeping_s: float = 1.0, check_timeout_s: float = 5.0) -> None:
        self.settings = settings
        self.config: TraderConfig = trader_config(settings)
        self.filters = subscriptions(settings, self.config)
        self.clock = clock
        self.report = report or LOG.info
        self._engine_config = engine_config
        self._housekeeping_s = housekeeping_s
        self._check_timeout_s = check_timeout_s
        self.engine: TradingEngine | None = None
        self.feed: Feed | None = None
        self.api: ApiComponent | None = None
        self.checks: checks.CheckReport | None = None
        self.ready = asyncio.Event()  # trading: recovery done, API up, stream connecting
        self._safe_mode_was = False

    # life cycle -------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> int:
        """Check, start, trade until `stop` is set (or the stream fails for good), shut down; the exit code."""
        for path in (self.config.journal_path, self.config.paper.store_path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self.checks = await checks.pre_start(self.config, self.filters, timeout_s=self._check_timeout_s, clock=self.clock)
        for result in self.checks.results:
            self.report(f"check {result.line()}")
        if not self.checks.ok:
            self.report("trader not started: " + "; ".join(f"{r.name}: {r.detail}" for r in self.checks.failures()))
            return 1
        try:
            engine = self.engine = build_engine(self.config, self.clock, self._engine_config)
        except Exception as error:  # the journal or the paper venue's record cannot be opened or read
            self.report(f"trader not started: {type(error).__name__}: {error}")
            return 1
        try:
            recovery = await engine.start()
        except TradingRefused as error:
            self.report(f"trader refuses to trade: {error}")
            engine.close()
            return 1
        self.report(f"session {engine.session_id} started: recovery {recovery.status.value}"
                    + (f" ({recovery.reason}); trading in safe mode until it clears" if recovery.reason else ""))
        engine.settled.append(self._settled)
        self.feed = Feed(FanoutClient(self.config.stream.url, self.filters, token=self.config.stream.token), engine, self.clock)
        try:
            if self.config.api.enabled:
                self.api = ApiComponent(self.config.api, self, registry_for(TraderMetrics(engine, lambda: self.feed)))
                await self.api.start()
        except (OSError, ValueError) as error:
            self.report(f"trader not started: {error}")
            await self._shutdown(f"start failed: {error}")
            return 1
        return await self._trade(stop)

    async def _trade(self, stop: asyncio.Event) -> int:
        assert self.engine is not None and self.feed is not None
        feeding = asyncio.create_task(self.feed.run(), name="trader-feed")
        housekeeping = asyncio.create_task(self._housekeeping(), name="trader-housekeeping")
        stopped = asyncio.create_task(stop.wait())
        self.ready.set()
        await asyncio.wait({feeding, stopped}, return_when=asyncio.FIRST_COMPLETED)
        code, reason = 0, "shutdown"
        if feeding.done() and not stopped.done():
            error = feeding.exception()
            code, reason = 1, f"stream failed: {error}" if error is not None else "stream ended"
            self.report(f"trader stopping: {reason}")
            if error is not None and not isinstance(error, ClientError):
                LOG.error("the stream loop failed", exc_info=error)
        stopped.cancel()
        await self._shutdown(reason, feeding, housekeeping)
        return code

    async def _shutdown(self, reason: str, *tasks: asyncio.Task[None]) -> None:
        engine = self.engine
        assert engine is not None
        if engine.state is not EngineState.STOPPED:
            session = engine.session_id
            report = await engine.stop(self.config.shutdown_grace_ns / 1e9, reason)
            left = lines.money(report.exposure) if any(report.exposure.values()) else "none"
            self.report(f"trader stopped ({reason}): {len(report.canceled)} resting orders canceled, "
                        f"{len(report.unfinished)} arbitrages unfinished (recovery takes them up), exposure left: {left}")
            self.report(lines.summary_line(engine.status(), self.feed.events if self.feed else None, session))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.api is not None:
            await self.api.stop()
        engine.close()

    # housekeeping -------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        engine = self.engine
        assert engine is not None
        loop = asyncio.get_running_loop()
        next_reconcile = loop.time() + self.config.reconcile_interval_ns / 1e9
        next_summary = loop.time() + self.config.summary_interval_ns / 1e9
        while True:
            await asyncio.sleep(self._housekeeping_s)
            if engine.state not in _TRADING:
                continue
            self.observe()
            if loop.time() >= next_reconcile:
                next_reconcile = loop.time() + self.config.reconcile_interval_ns / 1e9
                await self.reconcile()
            if loop.time() >= next_summary:
                next_summary = loop.time() + self.config.summary_interval_ns / 1e9
                self.report(lines.summary_line(engine.status(), self.feed.events if self.feed else None))

    def observe(self) -> None:
        """Stale data on a traded venue/symbol enters safe mode after `stale_after_s`; errors age out."""
        engine = self.engine
        assert engine is not None
        engine.observe_staleness()
        self._safe_mode_changed()

    async def reconcile(self) -> None:
        engine = self.engine
        assert engine is not None
        try:
            result = await engine.reconcile()
        except Exception as error:  # the executor did not answer: an error towards safe mode, trading goes on
            LOG.warning("reconciliation failed: %s", error)
            engine.risk.error(self.clock(), f"reconciliation: {error}")
            return
        if result is not None and not result.agrees:
            LOG.warning("reconciliation mismatch: %s", "; ".join(result.problems()))
        self._safe_mode_changed()

    def _safe_mode_changed(self) -> None:
        engine = self.engine
        assert engine is not None
        safe = engine.risk.safe_mode.status()
        if safe.active != self._safe_mode_was:
            self._safe_mode_was = safe.active
            detail = "; ".join(f"{cause.value}: {text}" for cause, text in safe.causes.items()) or safe.last_reason
            self.report(f"safe mode {'entered' if safe.active else 'left'}: {detail if safe.active else 'its causes cleared'}")
            engine.journal.record_risk_event("safe_mode", "entered" if safe.active else "left", detail)

    def _settled(self, attempt: ArbitrageAttempt) -> None:
        engine = self.engine
        if engine is None or not attempt.anything_filled:
            return
        session = engine.ledger.session(engine.session_id or 0)
        self.report(lines.trade_line(attempt, attempt_pnl(attempt), session))

    # what the API may see and do (trader.api.Control) ---------------------------------------

    def _running(self) -> TradingEngine:
        if self.engine is None:
            raise Conflict("the trader has not started")
        return self.engine

    def status(self) -> StatusBody:
        return overview.status_body(self._running(), self.feed, self.config.mode.value)

    def sessions(self) -> tuple[SessionBody, ...]:
        return overview.sessions(self._running())

    def instances(self) -> tuple[StrategyInstance, ...]:
        return self._running().instances()

    def instance(self, instance_id: str) -> StrategyInstance:
        return self._running().registry.get(instance_id)

    def add_instance(self, definition: InstanceSettings) -> StrategyInstance:
        """Checked by the rules of the settings file (venues and symbols collected, size above the minimums)."""
        engine = self._running()
        if any(i.id == definition.id for i in engine.instances()):
            raise Conflict(f"strategy instance {definition.id!r} exists already")
        trader = self.settings.trader.model_copy(update={"instances": (definition,)})
        problem = trader_problem(trader, self.settings.exchanges, self.settings.sim)
        if problem is not None:
            key, text = problem
            raise InstanceRejected(key.removeprefix("trader.instances.0."), text)
        try:
            instance = engine.add_instance(strategy_instance(definition))
        except ValueError as error:
            raise InstanceRejected("symbols", str(error)) from None
        LOG.info("strategy instance %s added (%s): %s", instance.id, instance.kind.value, instance.params)
        return instance

    def pause_instance(self, instance_id: str) -> StrategyInstance:
        instance = self._running().pause_instance(instance_id)
        LOG.info("strategy instance %s paused", instance_id)
        return instance

    def resume_instance(self, instance_id: str) -> StrategyInstance:
        instance = self._running().resume_instance(instance_id)
        LOG.info("strategy instance %s resumed", instance_id)
        return instance

    def remove_instance(self, instance_id: str) -> StrategyInstance:
        instance = self._running().remove_instance(instance_id)
        LOG.info("strategy instance %s removed", instance_id)
        return instance

    async def kill(self, flatten: bool, reason: str) -> KillReport:
        engine = self._running()
        if engine.state not in (*_TRADING, EngineState.KILLED):
            raise Conflict(f"the trader is {engine.state.value}: nothing to kill")
        report = await engine.kill(flatten, reason)
        left = lines.money(report.exposure) if any(report.exposure.values()) else "none"
        self.report(f"KILL SWITCH ({reason}): new proposals stopped, {len(report.canceled)} open orders canceled, "
                    f"{len(report.flattened)} unwinding orders sent; exposure left: {left}")
        return report

    def exit_safe_mode(self) -> SafeModeExit:
        engine = self._running()
        if engine.state not in (*_TRADING, EngineState.KILLED):
            raise Conflict(f"the trader is {engine.state.value}")
        was = engine.risk.safe_mode.active
        engine.risk.safe_mode.operator_exit()
        engine.journal.record_risk_event("safe_mode", "operator exit", "ended by an operator through the API")
        self._safe_mode_changed()
        return SafeModeExit(was, engine.risk.safe_mode.status())


async def run_until_stopped(service: TraderService, duration_s: float | None = None) -> int:
    """Run with SIGINT/SIGTERM (and an optional duration) as the stop."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    def handle(name: str) -> None:
        LOG.info("%s received: shutting down", name)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on the main thread
            loop.add_signal_handler(sig, handle, sig.name)
    if duration_s is not None:
        loop.call_later(duration_s, stop.set)
    return await service.run(stop)
