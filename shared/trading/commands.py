"""Commands to an executor, in the imperative. An executor acts on them; it never decides."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from shared.trading.enums import OrderType, Side, TimeInForce
from shared.trading.orders import Order


class SubmitOrder(msgspec.Struct, frozen=True, tag=True, tag_field="command"):
    client_order_id: str  # unique, journaled before the order is sent, so a restart never sends it twice
    venue: str
    account: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None  # None for a market order
    time_in_force: TimeInForce
    ts_init: int
    attempt_id: str | None = None
    proposal_id: str | None = None

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError(f"order {self.client_order_id}: amount {self.amount} must be positive")
        if (self.type is OrderType.LIMIT) != (self.price is not None):
            raise ValueError(f"order {self.client_order_id}: a limit order needs a price and a market order has none")
        if self.price is not None and self.price <= 0:
            raise ValueError(f"order {self.client_order_id}: price {self.price} must be positive")

    def to_order(self) -> Order:
        return Order(
            client_order_id=self.client_order_id,
            venue=self.venue,
            account=self.account,
            symbol=self.symbol,
            side=self.side,
            type=self.type,
            amount=self.amount,
            price=self.price,
            time_in_force=self.time_in_force,
            attempt_id=self.attempt_id,
            ts_init=self.ts_init,
            ts_last=self.ts_init,
        )


class CancelOrder(msgspec.Struct, frozen=True, tag=True, tag_field="command"):
    client_order_id: str
    venue: str
    account: str
    symbol: str
    ts_init: int
    reason: str = ""


Command = SubmitOrder | CancelOrder
