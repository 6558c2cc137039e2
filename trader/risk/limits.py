"""The risk limits, one pure check each. A check returns None when the proposal fits, or a `Limited`:
the largest fraction of the proposal that fits (0 denies it), the reason and the numbers behind it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from shared.trading import Balances, DecisionReason, Proposal
from trader.market import MarketView
from trader.risk.config import RiskLimits, VolatilityPolicy

ZERO = Decimal(0)
ONE = Decimal(1)

Valuer = Callable[[str], Decimal | None]  # the price of one unit of an asset in the valuation asset, if known


class Unvalued(Exception):
    """An asset has no price in the valuation asset, so a value limit cannot be checked."""


@dataclass(frozen=True, slots=True)
class Limited:
    fraction: Decimal  # 0 <= fraction < 1
    reason: DecisionReason
    detail: str


def _value(price_of: Valuer, asset: str, amount: Decimal) -> Decimal:
    price = price_of(asset)
    if price is None:
        raise Unvalued(f"no price for {asset}")
    return amount * price


def _fraction(limit: Decimal, used: Decimal) -> Decimal:
    return max(ZERO, min(ONE, limit / used)) if used > 0 else ONE


def daily_loss(realized_today: Decimal, limits: RiskLimits) -> Limited | None:
    if realized_today <= -limits.max_daily_loss:
        return Limited(ZERO, DecisionReason.DAILY_LOSS, f"realized today {realized_today} {limits.valuation_asset}, limit -{limits.max_daily_loss}")
    return None


def open_orders(open_now: int, proposal: Proposal, limits: RiskLimits) -> Limited | None:
    after = open_now + len(proposal.legs)
    if after > limits.max_open_orders:
        return Limited(ZERO, DecisionReason.OPEN_ORDERS, f"{open_now} open + {len(proposal.legs)} new > limit {limits.max_open_orders}")
    return None


def volatility(proposal: Proposal, view: MarketView, now: int, policy: VolatilityPolicy) -> Limited | None:
    """Unknown volatility (too few samples yet) counts as calm: the staleness rules already guard a start."""
    readings = [(v, s) for s in proposal.symbols if (v := view.volatility_bps(s, now)) is not None]
    if not readings:
        return None
    vol, symbol = max(readings)
    if vol >= policy.pause_bps:
        return Limited(ZERO, DecisionReason.HIGH_VOLATILITY, f"{symbol} volatility {vol:.1f} bps >= pause {policy.pause_bps} bps")
    if vol <= policy.scale_from_bps:
        return None
    share = Decimal(repr((vol - policy.scale_from_bps) / (policy.pause_bps - policy.scale_from_bps)))
    fraction = ONE - share * (ONE - policy.min_scale)
    return Limited(fraction, DecisionReason.VOLATILITY_SCALED, f"{symbol} volatility {vol:.1f} bps: size x{fraction:.3f}")


def trade_notional(proposal: Proposal, price_of: Valuer, limits: RiskLimits) -> Limited | None:
    largest = max(_value(price_of, leg.quote, leg.notional) for leg in proposal.legs)
    if largest > limits.max_trade_notional:
        return Limited(_fraction(limits.max_trade_notional, largest), DecisionReason.NOTIONAL_LIMIT,
                       f"leg notional {largest:.2f} > limit {limits.max_trade_notional} {limits.valuation_asset}")
    return None


def positions(proposal: Proposal, held: Mapping[str, Decimal], price_of: Valuer, limits: RiskLimits) -> Limited | None:
    """Each leg alone must keep every asset's position within its limit: if the other legs fail, that leg
    is the position the trader is left with until it is hedged."""
    worst: Limited | None = None
    for leg in proposal.legs:
        for asset, delta in leg.deltas().items():
            if asset == limits.valuation_asset or not delta:
                continue
            limit = limits.max_position.get(asset)
            if limit is None:
                price = price_of(asset)
                if price is None:
                    raise Unvalued(f"no price for {asset}")
                limit = limits.max_position_value / price
            position = held.get(asset, ZERO)
            room = (limit - position) if delta > 0 else (limit + position)
            fraction = max(ZERO, min(ONE, room / abs(delta)))
            if fraction < ONE and (worst is None or fraction < worst.fraction):
                worst = Limited(fraction, DecisionReason.POSITION_LIMIT,
                                f"{asset} position {position} {delta:+} by the {leg.venue} leg would pass the limit {limit:.8g}")
    return worst


def funding(proposal: Proposal, balances: Balances) -> Limited | None:
    """No leg may spend more than its venue holds free (a chained leg on the same venue spends its predecessor's yield)."""
    worst: Limited | None = None
    for (venue, asset), need in proposal.funding().items():
        free = balances.free(venue, asset)
        if need > free:
            fraction = _fraction(free, need)
            if worst is None or fraction < worst.fraction:
                worst = Limited(fraction, DecisionReason.BALANCE_LIMIT, f"{venue} needs {need} {asset}, has {free} free")
    return worst


def venue_value(proposal: Proposal, balances: Balances, price_of: Valuer, limits: RiskLimits) -> Limited | None:
    """No venue may come to hold more than `max_venue_value`. Assets without a price are left out of a
    venue's value rather than blocking it, since venues credit assets the trader never trades."""
    for venue in proposal.venues:
        held = sum((_value(price_of, a, balances.total(v, a)) for v, a in balances if v == venue and price_of(a) is not None), ZERO)
        change = ZERO
        for leg in proposal.legs:
            if leg.venue == venue:
                change += sum((_value(price_of, a, d) for a, d in leg.deltas().items() if price_of(a) is not None), ZERO)
        if change > 0 and held + change > limits.max_venue_value:
            return Limited(ZERO, DecisionReason.BALANCE_LIMIT,
                           f"{venue} would hold {held + change:.2f} > limit {limits.max_venue_value} {limits.valuation_asset}")
    return None
