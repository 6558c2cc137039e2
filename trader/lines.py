"""The trader's report lines, for its log and the demo: one per arbitrage taken, and a periodic summary with
the running PnL. Pure formatting of the engine's values."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from shared.trading import ArbitrageAttempt, ArbitrageLeg, ArbitrageState
from trader.engine import EngineStatus

ZERO = Decimal(0)


def amount(value: Decimal, places: int = 8, sign: bool = False) -> str:
    """A decimal for people: at most `places` decimals, no trailing zeros."""
    text = f"{value:{'+' if sign else ''}.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(table: Mapping[str, Decimal], sign: bool = True) -> str:
    """`+1.25 USDT, -0.0001 BTC`, or `0` for nothing."""
    parts = [f"{amount(v, 4 if abs(v) >= 1 else 6, sign)} {asset}" for asset, v in sorted(table.items()) if v]
    return ", ".join(parts) or "0"


def leg_text(leg: ArbitrageLeg) -> str:
    """`buy 0.01 BTC-USDT on binance @ 65001.2` with the average fill price, or what became of it."""
    spec = leg.leg
    if leg.filled:
        notional = sum((f.amount * f.price for f in leg.fills), ZERO)
        return f"{spec.side.value} {amount(leg.filled)} {spec.symbol} on {spec.venue} @ {amount(notional / leg.filled)}"
    return f"{spec.side.value} {amount(spec.amount)} {spec.symbol} on {spec.venue}: {leg.status.value}"


def trade_line(attempt: ArbitrageAttempt, pnl: Decimal, session_pnl: Mapping[str, Decimal]) -> str:
    legs = "; ".join(leg_text(leg) for leg in attempt.legs if leg.filled or leg.orders)
    hedges = "; ".join(leg_text(leg) for leg in attempt.hedges if leg.filled)
    text = f"trade {attempt.id} {attempt.instance_id} ({attempt.kind.value}) {attempt.state.value}: {legs}"
    if hedges:
        text += f" | hedged: {hedges}"
    if attempt.reason and attempt.state is not ArbitrageState.FILLED:
        text += f" | {attempt.reason}"
    return f"{text} | pnl {money({attempt.profit_asset: pnl})} after fees | session pnl {money(session_pnl)}"


def summary_line(status: EngineStatus, events: int | None = None, session_id: int | None = None) -> str:
    """`session_id`: the session to show when the status has none any more (after the stop)."""
    current = status.session_id if status.session_id is not None else session_id
    session = status.pnl_by_session.get(str(current), {}) if current is not None else {}
    counts = status.counts
    taken = counts.succeeded + counts.failed
    parts = [
        f"pnl: session {money(session)} after fees",
        f"{taken} arbitrage{'' if taken == 1 else 's'} taken ({counts.succeeded} complete or hedged, {counts.failed} unhedged; "
        f"{counts.aborted} not filled)",
    ]
    by_instance = ", ".join(f"{instance} {money(pnl)}" for instance, pnl in sorted(status.pnl_by_instance.items()))
    if by_instance:
        parts.append(f"by instance: {by_instance}")
    parts.append(f"exposure: {money(status.positions) if any(status.positions.values()) else 'none'}")
    state = status.state.value + (f" ({status.reason})" if status.reason else "")
    parts.append(f"state: {state}")
    latency = status.tick_to_decision
    if latency.p50_ns is not None and latency.p99_ns is not None:
        parts.append(f"tick-to-decision p50 {latency.p50_ns / 1000:.0f} us, p99 {latency.p99_ns / 1000:.0f} us")
    if events is not None:
        parts.append(f"{events} events")
    return " | ".join(parts)
