"""What the engine reports: typed events and results (past tense for what happened)."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from shared.trading import ArbitrageAttempt, Order


class TradingRefused(RuntimeError):
    """Recovery could not reconcile the journal with the executor: the engine will not trade (fail closed)."""


class ExposureUnhedged(msgspec.Struct, frozen=True):
    """An arbitrage ended failed-unhedged: this exposure is left, counted against the limits, in safe mode."""

    attempt_id: str
    instance_id: str
    exposure: dict[str, Decimal]  # net per asset over every venue, the profit asset aside
    by_venue: dict[str, dict[str, Decimal]]  # the same, venue by venue
    reason: str
    ts_event: int


class KillReport(msgspec.Struct, frozen=True):
    reason: str
    ts_event: int
    canceled: tuple[Order, ...]  # open orders canceled
    exposure: dict[str, Decimal]  # net per asset still held by arbitrages that are not complete
    by_venue: dict[str, dict[str, Decimal]]
    flattened: tuple[Order, ...] = ()  # unwinding orders sent when told to flatten
    flatten_denied: tuple[str, ...] = ()  # why an unwinding order was not sent


class StopReport(msgspec.Struct, frozen=True):
    reason: str
    ts_event: int
    canceled: tuple[Order, ...]  # resting limit orders canceled
    unfinished: tuple[ArbitrageAttempt, ...]  # in flight when the grace period ran out (recovery takes them up)
    exposure: dict[str, Decimal]
    by_venue: dict[str, dict[str, Decimal]]
