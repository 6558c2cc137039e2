"""Every trading value survives a JSON round trip exactly (the journal and the API rely on it)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.trading import (
    ArbitrageAttempt,
    Balance,
    CancelOrder,
    Command,
    CrossExchangeParams,
    Decision,
    DecisionReason,
    InstanceState,
    InstrumentSpec,
    LimitHedgeParams,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    OrderType,
    Proposal,
    Side,
    StrategyInstance,
    SubmitOrder,
    TimeInForce,
    TriangularParams,
    decode,
    encode,
)
from tests.shared.trading.values import cross_proposal, fill_of

FILL = fill_of("c1", cross_proposal().legs[0], "0.400", "100.00")
EVENTS: list[OrderEvent] = [
    OrderSubmitted("c1", "binance", 1),
    OrderAccepted("c1", "binance", 2, "v-1"),
    OrderFilled("c1", "binance", 3, FILL),
    OrderCanceled("c1", "binance", 4, "ioc"),
    OrderRejected("c1", "binance", 5, "no funds"),
    OrderDenied("c1", "binance", 6, DecisionReason.POSITION_LIMIT, "BTC over 1"),
]
COMMANDS: list[Command] = [
    SubmitOrder("c1", "binance", "main", "BTC-USDT", Side.BUY, OrderType.LIMIT, D("0.00100"), D("65000.10"), TimeInForce.IOC, 7, "a1", "p1"),
    CancelOrder("c1", "binance", "main", "BTC-USDT", 8, "kill switch"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_order_events_round_trip_through_their_union(event: OrderEvent) -> None:
    assert decode(encode(event), OrderEvent) == event  # type: ignore[arg-type]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: type(c).__name__)
def test_commands_round_trip_through_their_union(command: Command) -> None:
    assert decode(encode(command), Command) == command  # type: ignore[arg-type]


def test_decimals_keep_their_exact_digits_on_the_wire() -> None:
    data = encode(COMMANDS[0])
    assert b'"amount":"0.00100"' in data and b'"price":"65000.10"' in data
    assert str(decode(data, SubmitOrder).amount) == "0.00100"


def test_an_order_with_fills_round_trips() -> None:
    submit = COMMANDS[0]
    assert isinstance(submit, SubmitOrder)
    order = submit.to_order().apply(OrderFilled("c1", "binance", 3, fill_of("c1", cross_proposal().legs[0], "0.00100", "65000.10")))
    assert order.avg_price == D("65000.10")
    assert decode(encode(order), Order) == order


def test_proposals_decisions_and_attempts_round_trip() -> None:
    proposal = cross_proposal()
    decision = Decision.deny(proposal, DecisionReason.SAFE_MODE, "stale", 9)
    attempt = ArbitrageAttempt.from_proposal(proposal, "a1", 10, 1000).sent(0, "c1", 11).filled(0, FILL, 12)
    assert decode(encode(proposal), Proposal) == proposal
    assert decode(encode(decision), Decision) == decision
    assert decode(encode(attempt), ArbitrageAttempt) == attempt


@pytest.mark.parametrize(
    ("params", "tag"),
    [
        (CrossExchangeParams(("binance", "bybit"), "BTC-USDT", D("0.01"), D(10)), "cross_exchange"),
        (TriangularParams("binance", ("BTC-USDT", "ETH-BTC", "ETH-USDT"), "USDT", D(500), D(5)), "triangular"),
        (LimitHedgeParams("gateio", "binance", "ETH-USDT", D("0.1"), D(8), sides=(Side.SELL,)), "limit_hedge"),
    ],
)
def test_strategy_instances_of_every_kind_round_trip(params: CrossExchangeParams | TriangularParams | LimitHedgeParams, tag: str) -> None:
    instance = StrategyInstance("i1", params, InstanceState.PAUSED)
    data = encode(instance)
    assert decode(data, StrategyInstance) == instance
    assert f'"strategy":"{tag}"'.encode() in data


def test_instrument_specs_and_balances_round_trip() -> None:
    spec = InstrumentSpec("binance", "BTC-USDT", D("0.01"), D("0.00001"), D("0.0001"), D(5), D("0.0002"), D("0.001"))
    balance = Balance("binance", "main", "BTC", D("1.5"), D("0.25"))
    assert decode(encode(spec), InstrumentSpec) == spec
    assert decode(encode(balance), Balance) == balance


def test_a_value_that_breaks_a_rule_is_refused_on_decode() -> None:
    with pytest.raises(Exception, match="must be positive"):
        decode(b'{"venue":"v","symbol":"BTC-USDT","tick_size":"0","lot_size":"1"}', InstrumentSpec)
