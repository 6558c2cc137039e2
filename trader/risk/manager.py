"""The risk manager: between the strategies and execution, it decides on every proposal and logs the
decision with its reason (thinned: trader/risk/decision_log.py; the journal keeps every one).

Gates run first and deny (kill switch, safe mode, breaker, stale data, daily loss, open orders,
inventory); then the sizing limits (volatility, notional, positions, funding, venue value) each give
the largest fraction that fits, and the smallest wins: 1 approves, a fraction resizes, 0 denies.
Which rules apply depends on the proposal's intent: a HEDGE closes exposure that already exists, so
only funding can stop it; an UNWIND (an operator's flatten) is held to the staleness, order-count,
notional and funding rules; an OPEN meets them all.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from shared.trading import Balances, Decision, DecisionReason, Instruments, Intent, Order, OrderStatus, Proposal
from trader.market import MarketView
from trader.risk import limits as rules
from trader.risk.breaker import BreakerState, CircuitBreaker, EventWindow, market_outcome
from trader.risk.config import RiskConfig
from trader.risk.decision_log import DecisionLog
from trader.risk.inventory import InventoryReport
from trader.risk.kill import KillSwitch
from trader.risk.limits import Limited, Unvalued
from trader.risk.safe_mode import SafeMode, SafeModeCause, SafeModeStatus

LOG = logging.getLogger("trader.risk")
ZERO = Decimal(0)
ONE = Decimal(1)
_O, _H, _U = Intent.OPEN, Intent.HEDGE, Intent.UNWIND


@dataclass(frozen=True, slots=True)
class Portfolio:
    """What the service knows of its own state when a proposal arrives."""

    balances: Balances
    positions: Mapping[str, Decimal] = field(default_factory=dict)  # net exposure per asset, over all venues
    open_orders: int = 0
    realized_today: Decimal = ZERO  # realized PnL of the UTC day, in the valuation asset
    inventory: InventoryReport | None = None


@dataclass(frozen=True, slots=True)
class RiskStatus:
    breaker: BreakerState
    breaker_last_failure: str
    safe_mode: SafeModeStatus
    killed: bool
    kill_reason: str
    decisions: dict[str, int]  # "verdict/reason" -> count


class RiskManager:
    def __init__(self, config: RiskConfig, instruments: Instruments, view: MarketView) -> None:
        self.config = config
        self.instruments = instruments
        self.view = view
        self.kill = KillSwitch()
        self.breaker = CircuitBreaker(config.breaker)
        self.safe_mode = SafeMode(config.safe_mode.auto_exit)
        self._errors = EventWindow(config.safe_mode.error_window_ns)
        self._untradeable_since: dict[tuple[str, str], int] = {}
        self.counts: Counter[str] = Counter()
        self._log = DecisionLog(LOG)

    # deciding -----------------------------------------------------------------

    def decide(self, proposal: Proposal, portfolio: Portfolio, now: int) -> Decision:
        decision = self._decide(proposal, portfolio, now)
        if decision.approved and proposal.intent is _O:
            self.breaker.trial_started(now)  # in half-open, this approval is the one trial
        return self._record(decision)

    def recheck(self, decision: Decision, now: int) -> Decision:
        """Just before an approved proposal is sent: the kill switch or safe mode may have come on since."""
        if not decision.approved:
            return decision
        denial = self._kill_gate(decision.proposal) or self._safe_mode_gate(decision.proposal)
        if denial is None:
            return decision
        return self._record(Decision.deny(decision.proposal, denial.reason, f"after approval: {denial.detail}", now))

    def _decide(self, proposal: Proposal, portfolio: Portfolio, now: int) -> Decision:
        for gate in self._gates(proposal, portfolio, now):
            denial = gate()
            if denial is not None:
                return Decision.deny(proposal, denial.reason, denial.detail, now)
        try:
            limited = [limit for check in self._sizing(proposal, portfolio, now) if (limit := check()) is not None]
        except Unvalued as exc:
            return Decision.deny(proposal, DecisionReason.NO_VALUATION, str(exc), now)
        if not limited:
            return Decision.approve(proposal, now)
        binding = min(limited, key=lambda limit: limit.fraction)
        detail = "; ".join(limit.detail for limit in limited)
        if binding.fraction <= 0:
            return Decision.deny(proposal, binding.reason, detail, now)
        resized = proposal.scaled(binding.fraction, self.instruments)
        if resized is None:
            detail = f"{detail}; at x{binding.fraction:.3f} a leg is under its venue's minimum"
            return Decision.deny(proposal, DecisionReason.BELOW_MINIMUM, detail, now)
        return Decision.resize(proposal, resized, binding.reason, detail, now)

    def _gates(self, proposal: Proposal, portfolio: Portfolio, now: int) -> Iterable[Callable[[], Limited | None]]:
        intent = proposal.intent
        yield lambda: self._kill_gate(proposal)
        yield lambda: self._safe_mode_gate(proposal)
        if intent is _O:
            yield lambda: self._breaker_gate(now)
        if intent in (_O, _U):
            yield lambda: self._stale_gate(proposal, now)
        if intent is _O:
            yield lambda: rules.daily_loss(portfolio.realized_today, self.config.limits)
        if intent in (_O, _U):
            yield lambda: rules.open_orders(portfolio.open_orders, proposal, self.config.limits)
        if intent is _O:
            yield lambda: self._inventory_gate(proposal, portfolio.inventory)

    def _sizing(self, proposal: Proposal, portfolio: Portfolio, now: int) -> Iterable[Callable[[], Limited | None]]:
        intent, limits = proposal.intent, self.config.limits
        price_of = self._prices()
        if intent is _O:
            yield lambda: rules.volatility(proposal, self.view, now, self.config.volatility)
        if intent in (_O, _U):
            yield lambda: rules.trade_notional(proposal, price_of, limits)
        if intent is _O:
            yield lambda: rules.positions(proposal, portfolio.positions, price_of, limits)
        yield lambda: rules.funding(proposal, portfolio.balances)
        if intent is _O:
            yield lambda: rules.venue_value(proposal, portfolio.balances, price_of, limits)

    def _kill_gate(self, proposal: Proposal) -> Limited | None:
        if not self.kill.engaged or proposal.intent is _H or (proposal.intent is _U and self.kill.flatten):
            return None
        return Limited(ZERO, DecisionReason.KILL_SWITCH, f"kill switch engaged: {self.kill.reason}")

    def _safe_mode_gate(self, proposal: Proposal) -> Limited | None:
        if proposal.intent is not _O or not self.safe_mode.active:
            return None
        causes = "; ".join(f"{cause.value}: {detail}" for cause, detail in self.safe_mode.status().causes.items())
        return Limited(ZERO, DecisionReason.SAFE_MODE, f"safe mode ({causes or 'held until an operator ends it'})")

    def _breaker_gate(self, now: int) -> Limited | None:
        if self.breaker.allows(now):
            return None
        return Limited(ZERO, DecisionReason.CIRCUIT_OPEN, f"circuit breaker {self.breaker.state(now)}: {self.breaker.last_failure}")

    def _stale_gate(self, proposal: Proposal, now: int) -> Limited | None:
        for leg in proposal.legs:
            state = self.view.tradability(leg.venue, leg.symbol, now)
            if not state.ok:
                return Limited(ZERO, DecisionReason.STALE_DATA, state.detail)
        return None

    @staticmethod
    def _inventory_gate(proposal: Proposal, inventory: InventoryReport | None) -> Limited | None:
        short = inventory.blocked(proposal.instance_id, proposal.direction) if inventory else None
        return Limited(ZERO, DecisionReason.INVENTORY_SHORT, str(short)) if short else None

    def _price(self, asset: str) -> Decimal | None:
        price = self.view.price(asset, self.config.limits.valuation_asset)
        return Decimal(repr(price)) if price is not None else None

    def _prices(self) -> Callable[[str], Decimal | None]:
        """`_price`, each asset looked up once: one decision values every balance of a venue, some twice."""
        known: dict[str, Decimal | None] = {}

        def price_of(asset: str) -> Decimal | None:
            if asset not in known:
                known[asset] = self._price(asset)
            return known[asset]

        return price_of

    def _record(self, decision: Decision) -> Decision:
        self.counts[f"{decision.verdict.value}/{decision.reason.value}"] += 1
        self._log(decision)
        return decision

    # what the service reports -------------------------------------------------

    def order_answered(self, now: int, order: Order) -> None:
        """The venue's answer to a new order: a fill closes a half-open breaker; a rejection or an order ended
        unfilled counts as a failure, unless it only met the market as it was (`market_outcome`)."""
        if order.filled > 0:
            self.order_succeeded(now)
        elif order.status in (OrderStatus.REJECTED, OrderStatus.CANCELED) and not market_outcome(order):
            self.order_failed(now, f"order {order.client_order_id} {order.status}: {order.reason}")

    def order_failed(self, now: int, detail: str) -> None:
        """An order was rejected or failed at its venue: the breaker's concern, not safe mode's."""
        self.breaker.record_failure(now, detail)

    def order_succeeded(self, now: int) -> None:
        self.breaker.record_success(now)

    def error(self, now: int, detail: str) -> None:
        """Something went wrong outside an order's own fate (an executor or journal failure, a lost connection)."""
        if self._errors.add(now) >= self.config.safe_mode.errors:
            self.safe_mode.enter(SafeModeCause.REPEATED_ERRORS, f"{self.config.safe_mode.errors} errors within the window, last: {detail}", now)

    def observe(self, now: int, traded: Iterable[tuple[str, str]]) -> None:
        """Called periodically with the (venue, symbol) pairs active instances trade: updates the
        time-based safe-mode causes (stale data, errors that have aged out of their window)."""
        stale = []
        for key in traded:
            state = self.view.tradability(*key, now)
            if state.ok:
                self._untradeable_since.pop(key, None)
                continue
            since = self._untradeable_since.setdefault(key, now)
            if now - since >= self.config.safe_mode.stale_after_ns:
                stale.append(state.detail)
        if stale:
            self.safe_mode.enter(SafeModeCause.STALE_DATA, "; ".join(stale), now)
        else:
            self.safe_mode.cleared(SafeModeCause.STALE_DATA)
        if self._errors.count(now) < self.config.safe_mode.errors:
            self.safe_mode.cleared(SafeModeCause.REPEATED_ERRORS)

    def reconciled(self, now: int, mismatch: str | None) -> None:
        """The result of a reconciliation with the executor: None when journal and venue agree."""
        if mismatch:
            self.safe_mode.enter(SafeModeCause.RECONCILIATION, mismatch, now)
        else:
            self.safe_mode.cleared(SafeModeCause.RECONCILIATION)

    def unhedged(self, now: int, exposure: Mapping[str, Decimal]) -> None:
        """Exposure no hedge could close (from failed-unhedged arbitrages), per asset; empty once closed."""
        if any(exposure.values()):
            detail = ", ".join(f"{amount} {asset}" for asset, amount in sorted(exposure.items()) if amount)
            self.safe_mode.enter(SafeModeCause.UNHEDGED_EXPOSURE, detail, now)
        else:
            self.safe_mode.cleared(SafeModeCause.UNHEDGED_EXPOSURE)

    def status(self, now: int) -> RiskStatus:
        return RiskStatus(
            breaker=self.breaker.state(now),
            breaker_last_failure=self.breaker.last_failure,
            safe_mode=self.safe_mode.status(),
            killed=self.kill.engaged,
            kill_reason=self.kill.reason,
            decisions=dict(self.counts),
        )
