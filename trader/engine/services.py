"""What a leg controller works with: the services the engine hands down, and its orders read from and canceled
through the journal (the one record it trusts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from shared.clock import Clock
from shared.trading import ArbitrageAttempt, ArbitrageState, Balances, CancelOrder, Instruments, LegStatus, Order, Proposal
from trader.engine.config import EngineConfig
from trader.engine.reports import ExposureUnhedged
from trader.execution import ExecutionQueues
from trader.journal import Journal
from trader.market import MarketView
from trader.risk import Portfolio, RiskManager
from trader.strategies import StrategyContext

_OPEN_LEG = (LegStatus.SENT, LegStatus.PARTIALLY_FILLED)


@dataclass(frozen=True, slots=True)
class LegServices:
    """What a leg controller uses, handed down by the engine."""

    journal: Journal
    queues: ExecutionQueues
    risk: RiskManager
    view: MarketView
    instruments: Instruments
    clock: Clock
    config: EngineConfig
    portfolio: Callable[[], Portfolio]
    context: Callable[[int], StrategyContext]
    new_id: Callable[[], str]  # proposal ids for hedges
    on_change: Callable[[ArbitrageAttempt], None]  # after every journaled transition
    on_report: Callable[[ExposureUnhedged], None]
    refresh: Callable[[], Awaitable[Balances]]  # balances from the executor, before hedging
    reserve: Callable[[Proposal], None] = lambda proposal: None  # an approved hedge's take from the books


def apply_journal(journal: Journal, attempt: ArbitrageAttempt, now: int) -> ArbitrageAttempt:
    """The attempt with every fill and order end the journal holds for its legs and hedges applied."""
    for hedging in (False, True):
        for index in range(len(attempt.hedges if hedging else attempt.legs)):
            leg = (attempt.hedges if hedging else attempt.legs)[index]
            seen = {f.trade_id for f in leg.fills}
            orders = {cid: journal.order(cid) for cid in leg.orders}
            for cid, order in orders.items():
                if order is not None and order.filled == 0:
                    continue  # the journal records an order's fills with the order (`Journal.record`): it has none
                for fill in journal.fills(cid):
                    if fill.trade_id not in seen:
                        attempt = attempt.hedge_filled(index, fill, now) if hedging else attempt.filled(index, fill, now)
            leg = (attempt.hedges if hedging else attempt.legs)[index]
            last = orders[leg.orders[-1]] if leg.orders else None
            if last is not None and last.is_final and leg.status in _OPEN_LEG:
                reason = f"order {last.client_order_id} {last.status}" + (f": {last.reason}" if last.reason else "")
                if not hedging:
                    attempt = attempt.failed(index, reason, now)
                elif attempt.state is ArbitrageState.HEDGING:
                    attempt = attempt.hedge_failed(index, reason, now)
    return attempt


async def cancel_journaled(journal: Journal, queues: ExecutionQueues, order: Order, reason: str, now: int) -> Order:
    """Cancel an open order through its queue and journal the answer."""
    update = await queues.cancel(CancelOrder(order.client_order_id, order.venue, order.account, order.symbol, now, reason))
    result = journal.order(order.client_order_id) or order
    for event in update.events:
        result = journal.record(event)
    return result
