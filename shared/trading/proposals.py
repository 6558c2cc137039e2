"""What a strategy proposes: the orders of an arbitrage (its legs), the edge it expects, and its intent.

A proposal is only a proposal: the risk manager approves, resizes or denies it (`Decision`), and only
an approved one becomes orders. Legs run in order; a `chained` leg is sized from what the previous
leg yields after its fee (the ETH a BTC->ETH leg buys is what the ETH->USDT leg sells), which is what
lets a proposal be resized without breaking the chain.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from shared.symbols import split
from shared.trading.enums import Intent, OrderType, Side, StrategyKind, TimeInForce
from shared.trading.instruments import Instruments

ZERO = Decimal(0)
ONE = Decimal(1)


class Leg(msgspec.Struct, frozen=True):
    venue: str
    symbol: str
    side: Side
    amount: Decimal  # base units, on the venue's lot grid
    price: Decimal | None  # the limit: the worst price the leg accepts (None: a market order)
    expected_price: Decimal  # the depth-walked VWAP the edge was computed at
    fee_rate: Decimal  # the fee rate the edge assumed (taker, or maker for a resting order)
    type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.IOC
    chained: bool = False  # sized from the previous leg's yield rather than from a balance
    account: str = "main"

    @property
    def base(self) -> str:
        return split(self.symbol)[0]

    @property
    def quote(self) -> str:
        return split(self.symbol)[1]

    @property
    def worst_price(self) -> Decimal:
        return self.price if self.price is not None else self.expected_price

    @property
    def notional(self) -> Decimal:
        """Value in the quote asset at the expected price."""
        return self.amount * self.expected_price

    @property
    def spent_asset(self) -> str:
        return self.quote if self.side is Side.BUY else self.base

    @property
    def received_asset(self) -> str:
        return self.base if self.side is Side.BUY else self.quote

    @property
    def spends(self) -> Decimal:
        """The most this leg can take from its venue's balance (a buy at its limit price)."""
        return self.amount * self.worst_price if self.side is Side.BUY else self.amount

    @property
    def yields(self) -> Decimal:
        """What the leg is expected to hand on, after its fee, in `received_asset`."""
        gross = self.amount if self.side is Side.BUY else self.amount * self.expected_price
        return gross * (ONE - self.fee_rate)

    def deltas(self) -> dict[str, Decimal]:
        """Expected change to the venue's balances if this leg alone fills."""
        return {self.spent_asset: -self.spends, self.received_asset: self.yields}


class Proposal(msgspec.Struct, frozen=True):
    id: str
    instance_id: str
    kind: StrategyKind
    intent: Intent
    direction: str  # which way the strategy trades (e.g. "binance>bybit"); inventory stops one direction at a time
    legs: tuple[Leg, ...]
    edge_bps: Decimal  # fee-adjusted, at the legs' expected prices
    expected_profit: Decimal  # in profit_asset
    profit_asset: str
    ts_event: int  # receive time of the newest market data it was computed from
    ts_init: int  # when the strategy proposed it
    attempt_id: str | None = None  # for HEDGE and UNWIND: the arbitrage whose exposure this closes

    def __post_init__(self) -> None:
        if not self.legs:
            raise ValueError(f"proposal {self.id} has no legs")
        if self.legs[0].chained:
            raise ValueError(f"proposal {self.id}: the first leg has no previous leg to be chained to")

    @property
    def venues(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(leg.venue for leg in self.legs))

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(leg.symbol for leg in self.legs))

    def funding(self) -> dict[tuple[str, str], Decimal]:
        """What the proposal takes from existing balances per (venue, asset).

        A chained leg on the same venue spends what the previous leg yields, so only the part beyond
        that yield comes from the balance; a chained leg on another venue (a cross-exchange sell)
        spends that venue's inventory.
        """
        needs: dict[tuple[str, str], Decimal] = {}
        previous: Leg | None = None
        for leg in self.legs:
            spend = leg.spends
            if leg.chained and previous is not None and previous.venue == leg.venue and previous.received_asset == leg.spent_asset:
                spend = max(ZERO, spend - previous.yields)
            if spend > 0:
                key = (leg.venue, leg.spent_asset)
                needs[key] = needs.get(key, ZERO) + spend
            previous = leg
        return needs

    def scaled(self, fraction: Decimal, instruments: Instruments) -> Proposal | None:
        """The same proposal at `fraction` of its size, re-rounded leg by leg; None if a leg falls under a minimum.

        The edge is kept: a smaller trade walks no deeper into the books the edge came from.
        """
        if not ZERO < fraction <= ONE:
            raise ValueError(f"fraction {fraction} is not in (0, 1]")
        legs: list[Leg] = []
        for leg in self.legs:
            spec = instruments.spec(leg.venue, leg.symbol)
            target = leg.amount * fraction
            if leg.chained and legs:
                target = min(target, _affordable(legs[-1], leg))
            amount = spec.round_amount(target)
            if not spec.meets_minimums(amount, leg.worst_price):
                return None
            legs.append(msgspec.structs.replace(leg, amount=amount))
        ratio = legs[0].amount / self.legs[0].amount
        return msgspec.structs.replace(self, legs=tuple(legs), expected_profit=self.expected_profit * ratio)


def _affordable(previous: Leg, leg: Leg) -> Decimal:
    """The most of `leg` (base units) that the previous leg's yield pays for."""
    if previous.received_asset == leg.base and leg.side is Side.SELL:
        return previous.yields
    if previous.received_asset == leg.quote and leg.side is Side.BUY:
        return previous.yields / leg.worst_price
    return leg.amount
