"""The trading domain model: instruments, orders and their events, commands, proposals, decisions,
arbitrage attempts and strategy instances. Immutable typed values; money, prices and sizes are
`Decimal` on the venue's grid. Imports nothing of ours outside `shared`."""

from shared.trading.arbitrage import ArbitrageAttempt, ArbitrageLeg
from shared.trading.balances import Balance, Balances
from shared.trading.codec import decode, encode
from shared.trading.commands import CancelOrder, Command, SubmitOrder
from shared.trading.decisions import Decision
from shared.trading.enums import (
    ArbitrageState,
    DecisionReason,
    InstanceState,
    Intent,
    LegStatus,
    Liquidity,
    OrderStatus,
    OrderType,
    Side,
    StrategyKind,
    TimeInForce,
    Verdict,
)
from shared.trading.instances import CrossExchangeParams, LimitHedgeParams, StrategyInstance, StrategyParams, TriangularParams
from shared.trading.instruments import Instruments, InstrumentSpec, spot_pair, to_decimal
from shared.trading.orders import (
    Fill,
    InvalidTransition,
    Order,
    OrderAccepted,
    OrderCanceled,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
)
from shared.trading.proposals import Leg, Proposal

__all__ = [
    "ArbitrageAttempt",
    "ArbitrageLeg",
    "ArbitrageState",
    "Balance",
    "Balances",
    "CancelOrder",
    "Command",
    "CrossExchangeParams",
    "Decision",
    "DecisionReason",
    "Fill",
    "InstanceState",
    "InstrumentSpec",
    "Instruments",
    "Intent",
    "InvalidTransition",
    "Leg",
    "LegStatus",
    "LimitHedgeParams",
    "Liquidity",
    "Order",
    "OrderAccepted",
    "OrderCanceled",
    "OrderDenied",
    "OrderEvent",
    "OrderFilled",
    "OrderRejected",
    "OrderStatus",
    "OrderSubmitted",
    "OrderType",
    "Proposal",
    "Side",
    "StrategyInstance",
    "StrategyKind",
    "StrategyParams",
    "SubmitOrder",
    "TimeInForce",
    "TriangularParams",
    "Verdict",
    "decode",
    "encode",
    "spot_pair",
    "to_decimal",
]
