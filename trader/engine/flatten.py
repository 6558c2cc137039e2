"""Flattening on an operator's kill (`--flatten`): market orders that close the unhedged exposure,
each an UNWIND proposal the risk manager decides under its limits, each journaled before it is sent."""

from __future__ import annotations

from decimal import Decimal

from shared.trading import Intent, Leg, Order, OrderType, Proposal, StrategyKind, SubmitOrder
from trader.engine.exposure import ExposureBook
from trader.engine.hedging import hedge_leg
from trader.engine.legs import LegServices
from trader.execution.journaled import send

ZERO = Decimal(0)


async def flatten(services: LegServices, book: ExposureBook, session_tag: str, account: str = "main") -> tuple[tuple[Order, ...], tuple[str, ...]]:
    """Send the unwinding orders; returns the orders as journaled and why any was not sent."""
    s = services
    orders: list[Order] = []
    denied: list[str] = []
    net, by_venue = book.total(())
    for asset, amount in net.items():
        holders = sorted(by_venue, key=lambda v: -abs(by_venue[v].get(asset, ZERO)))
        venues = [*holders, *sorted({v for v, _ in s.instruments} - set(holders))]
        now = s.clock()
        leg = hedge_leg(asset, amount, book.valuation_asset, venues, s.instruments, s.view, now, account)
        if not isinstance(leg, Leg):
            denied.append(leg.reason)
            continue
        proposal = Proposal(s.new_id(), "operator", StrategyKind.CROSS_EXCHANGE, Intent.UNWIND, "flatten", (leg,), ZERO, ZERO,
                            book.valuation_asset, now, now)
        decision = s.risk.decide(proposal, s.portfolio(), now)
        s.journal.record_decision(decision)
        if not decision.approved:
            denied.append(f"{amount} {asset}: {decision.reason}: {decision.detail}")
            continue
        unwind = decision.proposal.legs[0]
        cid = f"{session_tag}-{proposal.id}-unwind"
        command = SubmitOrder(cid, unwind.venue, unwind.account, unwind.symbol, unwind.side, OrderType.MARKET, unwind.amount, None,
                              unwind.time_in_force, now, proposal_id=proposal.id)
        order = await send(s.journal, s.queues, command, s.clock, timeout_s=s.config.send_timeout_s)
        for fill in s.journal.fills(cid):
            book.add_unwind(fill)
        orders.append(order)
    s.risk.unhedged(s.clock(), book.unhedged())
    return tuple(orders), tuple(denied)
