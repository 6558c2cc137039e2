"""An order, its fills, and the events of its life (past tense), applied as validated transitions.

An order is created `INITIALIZED` from a `SubmitOrder` command and journaled before it is sent; every
later change arrives as an event and `Order.apply` returns the next immutable version, refusing an
event its status does not allow (a fill after a cancel, a second rejection) with `InvalidTransition`.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from shared.symbols import split
from shared.trading.enums import DecisionReason, Liquidity, OrderStatus, OrderType, Side, TimeInForce

ZERO = Decimal(0)


class InvalidTransition(ValueError):
    """An event or command that the current state of an order or arbitrage does not allow."""


class Fill(msgspec.Struct, frozen=True):
    client_order_id: str
    venue: str
    account: str
    symbol: str
    side: Side
    trade_id: str
    price: Decimal
    amount: Decimal  # base units
    fee: Decimal  # in fee_asset
    fee_asset: str
    liquidity: Liquidity
    ts_event: int

    @property
    def notional(self) -> Decimal:
        return self.amount * self.price

    def deltas(self) -> dict[str, Decimal]:
        """The change this fill makes to the account's balances, per asset, fee included."""
        base, quote = split(self.symbol)
        sign = 1 if self.side is Side.BUY else -1
        changes = {base: sign * self.amount, quote: -sign * self.notional}
        changes[self.fee_asset] = changes.get(self.fee_asset, ZERO) - self.fee
        return changes


class OrderSubmitted(msgspec.Struct, frozen=True, tag=True, tag_field="event"):
    client_order_id: str
    venue: str
    ts_event: int


class OrderAccepted(msgspec.Struct, frozen=True, tag=True, tag_field="event"):
    client_order_id: str
    venue: str
    ts_event: int
    venue_order_id: str


class OrderFilled(msgspec.Struct, frozen=True, tag=True, tag_field="event"):
    """A fill, partial or full: whether it completes the order follows from the order's remaining amount."""

    client_order_id: str
    venue: str
    ts_event: int
    fill: Fill


class OrderCanceled(msgspec.Struct, frozen=True, tag=True, tag_field="event"):
    client_order_id: str
    venue: str
    ts_event: int
    reason: str = ""


class OrderRejected(msgspec.Struct, frozen=True, tag=True, tag_field="event"):
    client_order_id: str
    venue: str
    ts_event: int
    reason: str


class OrderDenied(msgspec.Struct, frozen=True, tag=True, tag_field="event"):
    """The risk manager refused the order; it was never sent."""

    client_order_id: str
    venue: str
    ts_event: int
    reason: DecisionReason
    detail: str = ""


OrderEvent = OrderSubmitted | OrderAccepted | OrderFilled | OrderCanceled | OrderRejected | OrderDenied

_S = OrderStatus
# Statuses each event may arrive in. Fills and acceptance are allowed straight from INITIALIZED and
# SUBMITTED because recovery after a crash can learn of them before it learns the order was sent.
_ALLOWED_FROM: dict[type, frozenset[OrderStatus]] = {
    OrderSubmitted: frozenset({_S.INITIALIZED}),
    OrderAccepted: frozenset({_S.INITIALIZED, _S.SUBMITTED, _S.ACCEPTED, _S.PARTIALLY_FILLED, _S.FILLED}),
    OrderFilled: frozenset({_S.INITIALIZED, _S.SUBMITTED, _S.ACCEPTED, _S.PARTIALLY_FILLED}),
    OrderCanceled: frozenset({_S.INITIALIZED, _S.SUBMITTED, _S.ACCEPTED, _S.PARTIALLY_FILLED}),
    OrderRejected: frozenset({_S.INITIALIZED, _S.SUBMITTED}),
    OrderDenied: frozenset({_S.INITIALIZED}),
}


class Order(msgspec.Struct, frozen=True):
    client_order_id: str
    venue: str
    account: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal  # base units, on the venue's lot grid
    price: Decimal | None  # limit price on the venue's tick grid; None for a market order
    time_in_force: TimeInForce = TimeInForce.GTC
    status: OrderStatus = OrderStatus.INITIALIZED
    filled: Decimal = ZERO
    avg_price: Decimal | None = None
    fee: Decimal = ZERO
    fee_asset: str = ""
    venue_order_id: str | None = None
    attempt_id: str | None = None  # the arbitrage this order is a leg or hedge of
    reason: str = ""  # why it was canceled, rejected or denied
    ts_init: int = 0
    ts_last: int = 0

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    def apply(self, event: OrderEvent) -> Order:
        if event.client_order_id != self.client_order_id:
            raise InvalidTransition(f"event for {event.client_order_id} applied to order {self.client_order_id}")
        if self.status not in _ALLOWED_FROM[type(event)]:
            raise InvalidTransition(f"order {self.client_order_id} is {self.status}: cannot apply {type(event).__name__}")
        ts = event.ts_event
        if isinstance(event, OrderSubmitted):
            return msgspec.structs.replace(self, status=_S.SUBMITTED, ts_last=ts)
        if isinstance(event, OrderAccepted):
            # An acknowledgement that arrives after a fill only tells us the venue's id.
            status = self.status if self.status in (_S.PARTIALLY_FILLED, _S.FILLED) else _S.ACCEPTED
            return msgspec.structs.replace(self, status=status, venue_order_id=event.venue_order_id, ts_last=ts)
        if isinstance(event, OrderFilled):
            return self._filled(event.fill)
        if isinstance(event, OrderCanceled):
            return msgspec.structs.replace(self, status=_S.CANCELED, reason=event.reason, ts_last=ts)
        if isinstance(event, OrderRejected):
            return msgspec.structs.replace(self, status=_S.REJECTED, reason=event.reason, ts_last=ts)
        return msgspec.structs.replace(self, status=_S.DENIED, reason=f"{event.reason}: {event.detail}", ts_last=ts)

    def _filled(self, fill: Fill) -> Order:
        if fill.client_order_id != self.client_order_id or fill.side is not self.side or fill.symbol != self.symbol:
            raise InvalidTransition(f"fill {fill.trade_id} does not belong to order {self.client_order_id}")
        if fill.amount <= 0 or fill.amount > self.remaining:
            raise InvalidTransition(f"fill {fill.trade_id} of {fill.amount} exceeds the {self.remaining} remaining on {self.client_order_id}")
        if self.fee_asset and fill.fee_asset != self.fee_asset:
            raise InvalidTransition(f"order {self.client_order_id} pays fees in {self.fee_asset}, fill {fill.trade_id} in {fill.fee_asset}")
        filled = self.filled + fill.amount
        cost = (self.avg_price or ZERO) * self.filled + fill.price * fill.amount
        return msgspec.structs.replace(
            self,
            status=_S.FILLED if filled == self.amount else _S.PARTIALLY_FILLED,
            filled=filled,
            avg_price=cost / filled,
            fee=self.fee + fill.fee,
            fee_asset=fill.fee_asset,
            ts_last=fill.ts_event,
        )
