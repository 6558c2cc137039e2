"""The trading vocabulary: every enum of the trading model, at the bottom of its import graph.

Order sides reuse `shared.events.Side` (a trade's aggressor side and an order's side are one idea).
"""

from __future__ import annotations

from enum import StrEnum

from shared.events import Side

__all__ = [
    "ArbitrageState",
    "DecisionReason",
    "InstanceState",
    "Intent",
    "LegStatus",
    "Liquidity",
    "OrderStatus",
    "OrderType",
    "Side",
    "StrategyKind",
    "TimeInForce",
    "Verdict",
]


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    GTC = "gtc"  # rests until filled or canceled
    IOC = "ioc"  # fills what it can at once, the rest is canceled
    FOK = "fok"  # fills completely at once or not at all
    POST_ONLY = "post_only"  # rests as a maker order; rejected if it would take liquidity


class OrderStatus(StrEnum):
    INITIALIZED = "initialized"  # created and journaled, not yet handed to the venue
    SUBMITTED = "submitted"  # handed to the venue, no answer yet
    ACCEPTED = "accepted"  # open on the venue's book
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"  # canceled (by us, by the venue, or the unfilled rest of an IOC order)
    REJECTED = "rejected"  # refused by the venue
    DENIED = "denied"  # refused by the risk manager; never sent

    @property
    def is_final(self) -> bool:
        return self in _FINAL_ORDER

    @property
    def is_open(self) -> bool:
        return self in _OPEN_ORDER


_FINAL_ORDER = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.DENIED})
_OPEN_ORDER = frozenset({OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class StrategyKind(StrEnum):
    CROSS_EXCHANGE = "cross_exchange"
    TRIANGULAR = "triangular"
    LIMIT_HEDGE = "limit_hedge"


class InstanceState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class Intent(StrEnum):
    """What a proposal does to the trader's exposure; safe mode and the kill switch let only some through."""

    OPEN = "open"  # a new arbitrage: takes on (briefly hedged) positions
    HEDGE = "hedge"  # closes the exposure a partly filled arbitrage left
    UNWIND = "unwind"  # flattens remaining positions (an operator's --flatten)


class Verdict(StrEnum):
    APPROVED = "approved"
    RESIZED = "resized"  # approved at a smaller size
    DENIED = "denied"


class DecisionReason(StrEnum):
    OK = "ok"
    KILL_SWITCH = "kill_switch"
    SAFE_MODE = "safe_mode"
    CIRCUIT_OPEN = "circuit_open"
    STALE_DATA = "stale_data"  # a leg's venue/symbol is untradeable in the market view
    NO_VALUATION = "no_valuation"  # an asset has no price to value it by, so no limit can be checked
    DAILY_LOSS = "daily_loss"
    OPEN_ORDERS = "open_orders"
    HIGH_VOLATILITY = "high_volatility"
    VOLATILITY_SCALED = "volatility_scaled"
    NOTIONAL_LIMIT = "notional_limit"
    POSITION_LIMIT = "position_limit"
    BALANCE_LIMIT = "balance_limit"
    INVENTORY_SHORT = "inventory_short"
    BELOW_MINIMUM = "below_minimum"  # resizing left a leg under the venue's minimum size or notional


class LegStatus(StrEnum):
    PROPOSED = "proposed"  # not sent yet
    SENT = "sent"  # an order for it is on its way or open
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    FAILED = "failed"  # its last order ended short of the leg's amount (rejected, canceled, timed out)
    SKIPPED = "skipped"  # never sent: the arbitrage stopped before reaching it


class ArbitrageState(StrEnum):
    PROPOSED = "proposed"
    SENT = "sent"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"  # every leg filled: the arbitrage completed as planned
    HEDGING = "hedging"  # a leg failed after others filled; hedge orders close the exposure
    DONE = "done"  # the hedges filled: no exposure left
    FAILED_UNHEDGED = "failed_unhedged"  # exposure remains that could not be hedged; reported, counted, safe mode
    ABORTED = "aborted"  # stopped before anything filled: no exposure

    @property
    def is_final(self) -> bool:
        return self in _FINAL_ARBITRAGE


_FINAL_ARBITRAGE = frozenset({ArbitrageState.FILLED, ArbitrageState.DONE, ArbitrageState.FAILED_UNHEDGED, ArbitrageState.ABORTED})
