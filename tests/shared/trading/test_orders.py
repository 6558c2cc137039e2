"""An order's life as validated transitions, fills and their balance changes, and the order commands."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.trading import (
    CancelOrder,
    DecisionReason,
    Fill,
    InvalidTransition,
    Liquidity,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    OrderSubmitted,
    OrderType,
    Side,
    SubmitOrder,
    TimeInForce,
)

SUBMIT = SubmitOrder("c1", "binance", "main", "BTC-USDT", Side.BUY, OrderType.LIMIT, D("0.5"), D("60000.00"), TimeInForce.GTC, ts_init=10)


def fill(amount: str, price: str, trade_id: str = "t1", fee: str | None = None) -> OrderFilled:
    fee_amount = D(fee) if fee is not None else D(amount) * D("0.001")
    f = Fill("c1", "binance", "main", "BTC-USDT", Side.BUY, trade_id, D(price), D(amount), fee_amount, "BTC", Liquidity.TAKER, 20)
    return OrderFilled("c1", "binance", 20, f)


def test_an_order_is_created_initialized_from_its_command() -> None:
    order = SUBMIT.to_order()
    assert (order.status, order.filled, order.remaining, order.ts_init) == (OrderStatus.INITIALIZED, D(0), D("0.5"), 10)
    assert not order.is_open and not order.is_final


def test_submitted_accepted_partly_then_fully_filled() -> None:
    order = SUBMIT.to_order().apply(OrderSubmitted("c1", "binance", 11)).apply(OrderAccepted("c1", "binance", 12, "v-9"))
    assert order.status is OrderStatus.ACCEPTED and order.venue_order_id == "v-9" and order.is_open
    order = order.apply(fill("0.2", "60000", "t1"))
    assert (order.status, order.filled, order.remaining) == (OrderStatus.PARTIALLY_FILLED, D("0.2"), D("0.3"))
    order = order.apply(fill("0.3", "59990", "t2"))
    assert order.status is OrderStatus.FILLED and order.is_final
    assert order.avg_price == D("59994")  # (0.2 * 60000 + 0.3 * 59990) / 0.5
    assert (order.fee, order.fee_asset) == (D("0.0005"), "BTC")


def test_a_partly_filled_order_can_be_canceled_and_then_takes_no_fill() -> None:
    order = SUBMIT.to_order().apply(OrderSubmitted("c1", "binance", 11)).apply(fill("0.1", "60000"))
    order = order.apply(OrderCanceled("c1", "binance", 30, "ioc remainder"))
    assert (order.status, order.filled, order.reason) == (OrderStatus.CANCELED, D("0.1"), "ioc remainder")
    with pytest.raises(InvalidTransition, match="is canceled: cannot apply OrderFilled"):
        order.apply(fill("0.1", "60000", "t9"))


def test_a_fill_larger_than_what_remains_is_refused() -> None:
    order = SUBMIT.to_order().apply(OrderSubmitted("c1", "binance", 11))
    with pytest.raises(InvalidTransition, match=r"exceeds the 0\.5 remaining"):
        order.apply(fill("0.6", "60000"))


def test_an_accepted_order_cannot_be_rejected_and_a_rejected_one_stays_rejected() -> None:
    accepted = SUBMIT.to_order().apply(OrderAccepted("c1", "binance", 12, "v-9"))
    with pytest.raises(InvalidTransition):
        accepted.apply(OrderRejected("c1", "binance", 13, "insufficient balance"))
    rejected = SUBMIT.to_order().apply(OrderSubmitted("c1", "binance", 11)).apply(OrderRejected("c1", "binance", 13, "insufficient balance"))
    assert rejected.status is OrderStatus.REJECTED and rejected.reason == "insufficient balance"
    with pytest.raises(InvalidTransition):
        rejected.apply(OrderAccepted("c1", "binance", 14, "v-9"))


def test_only_an_unsent_order_can_be_denied() -> None:
    denied = SUBMIT.to_order().apply(OrderDenied("c1", "binance", 11, DecisionReason.KILL_SWITCH, "operator"))
    assert denied.status is OrderStatus.DENIED and denied.reason == "kill_switch: operator"
    with pytest.raises(InvalidTransition):
        SUBMIT.to_order().apply(OrderSubmitted("c1", "binance", 11)).apply(OrderDenied("c1", "binance", 12, DecisionReason.KILL_SWITCH))


def test_an_acknowledgement_after_the_fill_keeps_the_order_filled() -> None:
    order = SUBMIT.to_order().apply(OrderSubmitted("c1", "binance", 11)).apply(fill("0.5", "60000"))
    order = order.apply(OrderAccepted("c1", "binance", 21, "v-9"))
    assert order.status is OrderStatus.FILLED and order.venue_order_id == "v-9"


def test_recovery_may_learn_of_a_fill_before_it_learns_the_order_was_sent() -> None:
    assert SUBMIT.to_order().apply(fill("0.5", "60000")).status is OrderStatus.FILLED


def test_an_event_for_another_order_is_refused() -> None:
    with pytest.raises(InvalidTransition, match="event for c2"):
        SUBMIT.to_order().apply(OrderSubmitted("c2", "binance", 11))


def test_a_fill_changes_balances_by_amount_notional_and_fee() -> None:
    buy = fill("0.5", "60000", fee="0.0005").fill
    assert buy.deltas() == {"BTC": D("0.4995"), "USDT": D("-30000.0")}
    sell = Fill("c2", "bybit", "main", "BTC-USDT", Side.SELL, "t", D(60000), D("0.5"), D(30), "USDT", Liquidity.TAKER, 1)
    assert sell.deltas() == {"BTC": D("-0.5"), "USDT": D("29970.0")}


def test_submit_order_refuses_a_limit_without_price_and_a_market_with_one() -> None:
    with pytest.raises(ValueError, match="limit order needs a price"):
        SubmitOrder("c", "v", "main", "BTC-USDT", Side.BUY, OrderType.LIMIT, D(1), None, TimeInForce.GTC, ts_init=0)
    with pytest.raises(ValueError, match="limit order needs a price"):
        SubmitOrder("c", "v", "main", "BTC-USDT", Side.BUY, OrderType.MARKET, D(1), D(5), TimeInForce.IOC, ts_init=0)
    with pytest.raises(ValueError, match="must be positive"):
        SubmitOrder("c", "v", "main", "BTC-USDT", Side.BUY, OrderType.MARKET, D(0), None, TimeInForce.IOC, ts_init=0)
    assert CancelOrder("c1", "binance", "main", "BTC-USDT", ts_init=5).reason == ""
