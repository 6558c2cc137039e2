"""The leg controller: drives one arbitrage attempt through its legs until it is final.

Legs go one after another (a chained leg trades what the one before it yielded). Each order is sent the
journaled way (`trader.execution.journaled.send`): its intent, with the attempt that sends it, is
committed before the executor hears of it. What the executor answers, and fills that come later
(a resting order crossed by the market, routed here by the engine), are read back from the journal,
which is the one record the controller trusts.

- A leg that ends short (rejected, canceled, never sent) is sent again for what remains, up to
  `retries` times, before the attempt's deadline and while its venue is tradeable. If part of the
  arbitrage has filled, the remaining legs are first priced again on the current books (`replan`): when
  completing from there loses no more than unwinding, they go at the new prices (IOC, with a bounded
  slippage); otherwise the arbitrage is unwound at once.
- Otherwise, if nothing filled the attempt is aborted; if anything did, its exposure is hedged at once
  with market orders on the other venue (`hedging`), or for limit-then-hedge each maker fill is hedged
  by `limit_hedge.hedge`. Hedges are decided by the risk manager (only funding can stop them), retried
  `hedge_retries` times within `hedge_time_ns`.
- Exposure that cannot be hedged ends the attempt failed-unhedged, with an `ExposureUnhedged` report
  that the engine counts against the limits (safe mode). No attempt ends one-legged without one.
Every transition is journaled (`record_attempt`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from decimal import Decimal

import msgspec

from shared.trading import (
    ArbitrageAttempt,
    ArbitrageLeg,
    ArbitrageState,
    Balances,
    Intent,
    InvalidTransition,
    Leg,
    LegStatus,
    OrderType,
    Proposal,
    Side,
    StrategyInstance,
    StrategyKind,
    SubmitOrder,
    TimeInForce,
    Verdict,
)
from trader.engine.hedging import hedge_legs
from trader.engine.pnl import exposure_by_venue
from trader.engine.replan import replan
from trader.engine.reports import ExposureUnhedged
from trader.engine.services import LegServices, apply_journal, cancel_journaled
from trader.execution.journaled import send
from trader.strategies import limit_hedge

__all__ = ["LegController", "LegServices", "apply_journal", "cancel_journaled"]

LOG = logging.getLogger("trader.engine")
ZERO = Decimal(0)
_L = LegStatus
_OPEN_LEG = (_L.SENT, _L.PARTIALLY_FILLED)
IDLE_POLLS = 20  # a controller with no deadline ahead still looks every 20 polls (1 s by default), should a wake go missing


class LegController:
    def __init__(self, attempt: ArbitrageAttempt, services: LegServices, instance: StrategyInstance | None = None,
                 on_handed: Callable[[], None] | None = None, resumed: bool = False) -> None:
        self.attempt = attempt
        self._s = services
        self._instance = instance
        self._on_handed = on_handed
        self._wake = asyncio.Event()
        self._retries: dict[tuple[bool, int], int] = {}
        self._canceling: set[str] = set()
        self._hedge_started: int | None = None
        self._hedged_maker = attempt.legs[0].filled if attempt.hedges else ZERO
        self._unhedgeable: list[str] = []
        self._unwound = ""  # why a failed leg was unwound rather than completed
        self.report: ExposureUnhedged | None = None
        self.sending = False  # an order of this attempt is on its way to the executor
        # Taken up after a restart, before any book has arrived: wait (up to one time bound) for its venues' books
        # before deciding anything, rather than failing legs and hedges on "no book yet".
        self._resume_until = services.clock() + services.config.time_bound_ns if resumed else None

    # the engine's side ----------------------------------------------------------------

    def notify(self) -> None:
        """Something happened to one of its orders (a fill, a cancel): look at the journal again."""
        self._wake.set()

    def open_orders(self) -> tuple[str, ...]:
        """Client order ids of its legs and hedges that may still be open at the venue."""
        return tuple(leg.orders[-1] for leg in (*self.attempt.legs, *self.attempt.hedges) if leg.orders and leg.status in _OPEN_LEG)

    async def run(self) -> ArbitrageAttempt:
        try:
            while True:
                self._sync()
                if self.attempt.is_final:
                    break
                if self._waiting_for_books() or await self._step():
                    await self._sleep()
        except asyncio.CancelledError:
            raise  # shutdown's grace ran out: the attempt stays in flight in the journal, for recovery
        except Exception as error:
            LOG.exception("arbitrage %s: controller failed", self.attempt.id)
            self._s.risk.error(self._s.clock(), f"arbitrage {self.attempt.id}: {error}")
            if not self.attempt.is_final:
                self._commit(self.attempt.abandon(f"controller failed: {type(error).__name__}: {error}", self._s.clock()))
        self.finish()
        return self.attempt

    # steps ---------------------------------------------------------------------------

    def _waiting_for_books(self) -> bool:
        """A resumed attempt waits, within its resume bound, until every venue/symbol it trades is tradeable."""
        if self._resume_until is None:
            return False
        now = self._s.clock()
        markets = {(leg.leg.venue, leg.leg.symbol) for leg in (*self.attempt.legs, *self.attempt.hedges)}
        if now <= self._resume_until and not all(self._s.view.tradeable(venue, symbol, now) for venue, symbol in markets):
            return True
        self._resume_until = None
        return False

    async def _step(self) -> bool:
        """Do the next thing; True when there is nothing to do until woken."""
        a, now = self.attempt, self._s.clock()
        if a.state is ArbitrageState.HEDGING:
            return await self._step_hedging(now)
        if a.kind is StrategyKind.LIMIT_HEDGE:
            return await self._step_maker(now)
        for index, leg in enumerate(a.legs):
            if leg.status is _L.FILLED:
                continue
            if leg.status is _L.PROPOSED:
                blocked = self._blocked(leg.leg, now)
                if blocked:
                    return await self._give_up(f"leg {index} not sent: {blocked}")
                await self._send(False, index, leg.leg.amount)
                return False
            if leg.status in _OPEN_LEG:
                if now > a.deadline_ns:
                    await self._cancel(leg, "past the arbitrage's time bound")
                return True
            failed = f"leg {index} ({leg.leg.venue} {leg.leg.side} {leg.leg.symbol}) failed: {leg.reason}"
            why = self._no_retry(False, index, leg, now, a.deadline_ns)
            if why is None:
                if a.anything_filled and not self._replanned(index, now):
                    return await self._give_up(f"{failed}; {self._unwound}")
                await self._send(False, index, self._retry_amount(self.attempt.legs[index]))
                return False
            return await self._give_up(f"{failed}; {why}")
        return True

    async def _step_hedging(self, now: int) -> bool:
        a = self.attempt
        if self._hedge_started is None:
            self._hedge_started = now
        deadline = self._hedge_started + self._s.config.hedge_time_ns
        for index, hedge in enumerate(a.hedges):
            if hedge.status in (_L.FILLED, _L.SKIPPED):
                continue
            if hedge.status is _L.PROPOSED:
                await self._send(True, index, hedge.leg.amount)
                return False
            if hedge.status in _OPEN_LEG:
                if now > deadline:
                    await self._cancel(hedge, "past the hedging time bound")
                return True
            why = self._no_retry(True, index, hedge, now, deadline)
            if why is None:
                await self._send(True, index, self._retry_amount(hedge))
                return False
            self._commit(a.abandon(f"hedge {index} ({hedge.leg.venue} {hedge.leg.side} {hedge.leg.symbol}) failed: {hedge.reason}; {why}", now))
            return False
        if a.kind is StrategyKind.LIMIT_HEDGE:
            return await self._step_maker(now)
        return True

    async def _step_maker(self, now: int) -> bool:
        """Limit-then-hedge: the resting maker order (leg 0) rests until it fills or is canceled; each fill is hedged at once."""
        a = self.attempt
        maker = a.legs[0]
        if maker.status is _L.PROPOSED:
            why = self._blocked(maker.leg, now, deadline=False) or self._crosses(maker.leg)
            if why:
                self._commit(a.abandon(f"maker order not sent: {why}", now))
                return False
            await self._send(False, 0, maker.leg.amount)
            return False
        unhedged = maker.filled - self._hedged_maker
        if unhedged > 0:
            proposal = self._maker_hedge(unhedged, now)
            if proposal is not None:
                return await self._hedge_with(proposal, f"maker fill of {unhedged} hedged", now)
            if maker.status not in _OPEN_LEG and a.state is not ArbitrageState.HEDGING:
                self._commit(a.abandon(f"the maker order ended with {unhedged} filled, under the hedge venue's minimum", now))
                return False
        if maker.status is _L.FAILED and not a.anything_filled:
            self._commit(a.abandon(f"maker order ended: {maker.reason}", now))
            return False
        return True

    def _replanned(self, index: int, now: int) -> bool:
        """Price the legs from `index` on again on the current books, if completing loses no more than unwinding;
        False to unwind. An asset without a price leaves the legs as planned."""
        a = self.attempt
        choice = replan(a, index, self._s.instruments, self._s.view, now, self._s.config.replan_slippage_bps)
        if choice is None:
            return True
        what = choice.describe(a.profit_asset)
        if not choice.completes:
            self._unwound = f"unwound: {what}"
            LOG.info("arbitrage %s: leg %d failed, unwinding (%s)", a.id, index, what)
            return False
        legs = list(a.legs)
        for offset, new in enumerate(choice.legs):
            old = legs[index + offset]
            amount = old.filled + new.amount if offset == 0 else new.amount  # the failed leg keeps what it filled
            legs[index + offset] = msgspec.structs.replace(old, leg=msgspec.structs.replace(
                old.leg, amount=amount, price=new.price, expected_price=new.expected_price))
        self._commit(msgspec.structs.replace(a, legs=tuple(legs)))
        LOG.info("arbitrage %s: leg %d failed, completing at %s (%s)", a.id, index,
                 ", ".join(f"{leg.side} {leg.symbol} <= {leg.price}" if leg.side is Side.BUY else f"{leg.side} {leg.symbol} >= {leg.price}"
                           for leg in choice.legs), what)
        return True

    # hedging ---------------------------------------------------------------------------

    async def _give_up(self, why: str) -> bool:
        a, now = self.attempt, self._s.clock()
        if not a.anything_filled:
            self._commit(a.abandon(why, now))
            return False
        try:
            balances: Balances | None = await self._s.refresh()
        except Exception as error:
            self._s.risk.error(now, f"balances before hedging {a.id}: {error}")
            balances = None
        plan = hedge_legs(a, self._s.instruments, self._s.view, now, a.legs[0].leg.account, balances)
        self._unhedgeable += plan.unhedgeable  # dust (under every minimum order) stays as inventory, unreported
        if not plan.legs:
            self._commit(a.abandon(f"{why}; nothing to hedge with: {'; '.join((*plan.unhedgeable, *plan.dust))}", now))
            return False
        return await self._hedge_with(self._hedge_proposal(plan.legs, now), why, now)

    async def _hedge_with(self, proposal: Proposal, why: str, now: int) -> bool:
        a = self.attempt
        decision = self._s.risk.decide(proposal, self._s.portfolio(), now)
        self._s.journal.record_decision(decision)
        if decision.verdict is not Verdict.APPROVED:
            self._commit(a.abandon(f"{why}; the hedge was {decision.verdict}: {decision.reason}: {decision.detail}", now))
            return False
        self._s.reserve(decision.proposal)
        if a.kind is StrategyKind.LIMIT_HEDGE:
            self._hedged_maker = a.legs[0].filled
        if a.state is not ArbitrageState.HEDGING:
            self._hedge_started = now
        self._commit(a.start_hedging(decision.proposal.legs, why, now))
        return False

    def _maker_hedge(self, unhedged: Decimal, now: int) -> Proposal | None:
        instance = self._instance
        if instance is None:  # resumed after a restart with its instance gone: hedge the exposure as it is
            plan = hedge_legs(self.attempt, self._s.instruments, self._s.view, now, self.attempt.legs[0].leg.account)
            return self._hedge_proposal(plan.legs, now) if plan.legs else None
        return limit_hedge.hedge(self._s.context(now), instance, self.attempt.legs[0].leg.side, unhedged, self.attempt.id)

    def _hedge_proposal(self, legs: tuple[Leg, ...], now: int) -> Proposal:
        a = self.attempt
        return Proposal(self._s.new_id(), a.instance_id, a.kind, Intent.HEDGE, "hedge", legs, ZERO, ZERO, a.profit_asset, now, now, a.id)

    # orders ---------------------------------------------------------------------------

    def _blocked(self, leg: Leg, now: int, deadline: bool = True) -> str:
        if deadline and now > self.attempt.deadline_ns:
            return f"past the time bound by {(now - self.attempt.deadline_ns) / 1e9:.3f}s"
        state = self._s.view.tradability(leg.venue, leg.symbol, now)
        return "" if state.ok else f"{state.reason}: {state.detail}"

    def _crosses(self, leg: Leg) -> str:
        """Why a post-only order would take liquidity if sent now (the book moved since it was priced), or ""."""
        if leg.time_in_force is not TimeInForce.POST_ONLY or leg.price is None or self._s.view.book(leg.venue, leg.symbol) is None:
            return ""
        bids, asks = self._s.view.decimal_sides(leg.venue, leg.symbol)
        if leg.side is Side.BUY and leg.price >= asks[0][0]:
            return f"the bid at {leg.price} would take liquidity at {asks[0][0]}"
        if leg.side is Side.SELL and leg.price <= bids[0][0]:
            return f"the ask at {leg.price} would take liquidity at {bids[0][0]}"
        return ""

    def _no_retry(self, hedging: bool, index: int, leg: ArbitrageLeg, now: int, deadline: int) -> str | None:
        """Why a failed leg or hedge is not sent again, or None to send it."""
        used = self._retries.get((hedging, index), 0)
        if used >= (self._s.config.hedge_retries if hedging else self._s.config.retries):
            return f"{used} retries used"
        if now > deadline:
            return "out of time"
        if not hedging:
            state = self._s.view.tradability(leg.leg.venue, leg.leg.symbol, now)
            if not state.ok:
                return f"{state.reason}: {state.detail}"
        spec = self._s.instruments.spec(leg.leg.venue, leg.leg.symbol)
        short = spec.shortfall(self._retry_amount(leg), leg.leg.worst_price)
        if short:
            return short
        self._retries[(hedging, index)] = used + 1
        return None

    def _retry_amount(self, leg: ArbitrageLeg) -> Decimal:
        return self._s.instruments.spec(leg.leg.venue, leg.leg.symbol).round_amount(leg.remaining)

    async def _send(self, hedging: bool, index: int, amount: Decimal) -> None:
        a, now = self.attempt, self._s.clock()
        current = (a.hedges if hedging else a.legs)[index]
        leg = current.leg
        cid = f"{a.id}-o{len(a.order_ids()) + 1}"
        order_type, price = leg.type, leg.price
        if hedging and current.orders:  # a hedge sent again: the price it was limited to has gone; close the exposure at market
            order_type, price = OrderType.MARKET, None
        command = SubmitOrder(cid, leg.venue, leg.account, leg.symbol, leg.side, order_type, amount, price, leg.time_in_force, now,
                              attempt_id=a.id, proposal_id=a.proposal_id)
        sent = a.hedge_sent(index, cid, now) if hedging else a.sent(index, cid, now)
        self.attempt = sent  # journaled with the order's intent, in one commit
        self._s.on_change(sent)
        self.sending = True
        try:
            order = await send(self._s.journal, self._s.queues, command, self._s.clock, sent, timeout_s=self._s.config.send_timeout_s,
                               on_handed=self._handed)
        except Exception as error:  # not even the look-up answered: reconciliation settles the order later
            self._s.risk.error(self._s.clock(), f"order {cid}: {error}")
            self._sync()
            current = (self.attempt.hedges if hedging else self.attempt.legs)[index]
            if current.status in _OPEN_LEG:
                failed = self.attempt.hedge_failed if hedging else self.attempt.failed
                self._commit(failed(index, f"order {cid} unknown after {type(error).__name__}: {error}", self._s.clock()))
            return
        finally:
            self.sending = False
        self._s.risk.order_answered(self._s.clock(), order)

    def _handed(self) -> None:
        if self._on_handed is not None:
            self._on_handed()
            self._on_handed = None  # tick-to-decision ends with the first order

    async def _cancel(self, leg: ArbitrageLeg, reason: str) -> None:
        cid = leg.orders[-1]
        order = self._s.journal.order(cid)
        if cid in self._canceling or order is None or not order.is_open:
            return
        self._canceling.add(cid)
        await cancel_journaled(self._s.journal, self._s.queues, order, reason, self._s.clock())
        self._wake.set()  # its answer is in the journal

    # bookkeeping -----------------------------------------------------------------------

    def _sync(self) -> None:
        try:
            synced = apply_journal(self._s.journal, self.attempt, self._s.clock())
        except InvalidTransition as error:
            self._s.risk.error(self._s.clock(), f"arbitrage {self.attempt.id}: {error}")
            LOG.error("arbitrage %s: %s", self.attempt.id, error)
            return
        if synced is not self.attempt:
            # What the journal's orders and fills already say (recovery derives it again from them), so a state
            # that is not final goes with the next commit, which the step that follows usually makes at once.
            self._commit(synced, hold=not synced.is_final)

    def _commit(self, attempt: ArbitrageAttempt, hold: bool = False) -> None:
        if hold:
            self._s.journal.later(functools.partial(self._s.journal.record_attempt, attempt))
        else:
            self._s.journal.record_attempt(attempt)
        self.attempt = attempt
        self._s.on_change(attempt)

    async def _sleep(self) -> None:
        """Wait until woken (a fill or cancel of one of its orders, an answer) or its next deadline passes; a resumed
        attempt waiting for its books looks every `poll_s`, and `poll_s * IDLE_POLLS` bounds any wait."""
        try:
            await asyncio.wait_for(self._wake.wait(), self._timeout_s())
        except TimeoutError:
            pass
        self._wake.clear()

    def _timeout_s(self) -> float:
        poll = self._s.config.poll_s
        if self._resume_until is not None:
            return poll
        now = self._s.clock()
        deadlines = [self.attempt.deadline_ns]
        if self._hedge_started is not None:
            deadlines.append(self._hedge_started + self._s.config.hedge_time_ns)
        ahead = [d - now for d in deadlines if d >= now]
        wait = poll * IDLE_POLLS
        return min(wait, (min(ahead) + 1_000) / 1e9) if ahead else wait  # just past it: deadlines are checked with `now >`

    def finish(self) -> None:
        """Report the attempt if it ended with exposure it could not hedge."""
        a = self.attempt
        exposure = a.exposure()
        if a.state is not ArbitrageState.FAILED_UNHEDGED and not (self._unhedgeable and exposure and a.is_final):
            return
        reason = a.reason or "; ".join(self._unhedgeable)
        self.report = ExposureUnhedged(a.id, a.instance_id, exposure, exposure_by_venue(a), reason, self._s.clock())
        detail = ", ".join(f"{amount} {asset}" for asset, amount in exposure.items()) or "none"
        self._s.journal.record_risk_event("unhedged", a.id, f"exposure {detail}: {reason}")
        LOG.error("arbitrage %s ended unhedged with %s: %s", a.id, detail, reason)
        self._s.on_report(self.report)
