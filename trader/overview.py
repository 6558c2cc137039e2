"""The trader as the API shows it: the engine's status with the market's tradability, the risk limits in
use and the stream's health; and the journal's sessions. Plain reads of the running parts."""

from __future__ import annotations

from dataclasses import fields
from decimal import Decimal

from shared.trading import Balances
from trader.api.bodies import LimitUse, MarketState, SessionBody, StatusBody, StreamState
from trader.engine import EngineStatus, TradingEngine
from trader.feed import Feed

ZERO = Decimal(0)
_DAY_NS = 86_400_000_000_000


def status_body(engine: TradingEngine, feed: Feed | None, mode: str) -> StatusBody:
    status = engine.status()
    base = {f.name: getattr(status, f.name) for f in fields(EngineStatus)}
    return StatusBody(**base, mode=mode, market=market(engine, status.ts), limits_used=limits_used(engine, status),
                      stream=stream_state(feed) if feed is not None else None)


def market(engine: TradingEngine, now: int) -> tuple[MarketState, ...]:
    """Every instrument the trader may trade, tradeable or not and why."""
    view, states = engine.view, []
    for venue, symbol in sorted(engine.instruments):
        state = view.tradability(venue, symbol, now)
        age, latency = view.age_ns(venue, symbol, now), view.latency_ns(venue, symbol)
        states.append(MarketState(venue, symbol, state.ok, state.reason.value if state.reason else None, state.detail,
                                  age / 1e6 if age is not None else None, latency / 1e6 if latency is not None else None))
    return tuple(states)


def limits_used(engine: TradingEngine, status: EngineStatus) -> tuple[LimitUse, ...]:
    limits = engine.risk.config.limits
    today = status.ts - status.ts % _DAY_NS
    used = [
        LimitUse("open_orders", Decimal(len(status.open_orders)), Decimal(limits.max_open_orders)),
        LimitUse("daily_loss", max(ZERO, -engine.ledger.since(today)), limits.max_daily_loss),
    ]
    for asset, amount in sorted(status.positions.items()):
        if asset in limits.max_position:
            used.append(LimitUse(f"position.{asset}", abs(amount), limits.max_position[asset]))
        elif (price := _price(engine, asset)) is not None:
            used.append(LimitUse(f"position_value.{asset}", abs(amount) * price, limits.max_position_value))
    balances = Balances(status.balances)
    for venue in sorted(balances.venues()):
        value = _venue_value(engine, balances, venue)
        if value is not None:
            used.append(LimitUse(f"venue_value.{venue}", value, limits.max_venue_value))
    return tuple(used)


def stream_state(feed: Feed) -> StreamState:
    last = feed.last_notice
    return StreamState(feed.client.url, feed.connected, feed.events, feed.errors, feed.client.gaps, dict(feed.notices),
                       f"{last.kind.value}: {last.message}" if last else "")


def sessions(engine: TradingEngine) -> tuple[SessionBody, ...]:
    """Every session in the journal, newest first; the current one with its running PnL."""
    out = []
    for session in reversed(engine.journal.sessions()):
        current = session.id == engine.session_id
        if current:
            pnl = engine.ledger.session(session.id)
        else:
            pnl = dict(session.totals.realized_pnl) if session.totals else {}
        out.append(SessionBody(session.id, session.started_ns, session.ended_ns, session.end_reason, current, pnl, session.totals))
    return tuple(out)


def _price(engine: TradingEngine, asset: str) -> Decimal | None:
    price = engine.view.price(asset, engine.valuation_asset)
    return Decimal(repr(price)) if price is not None else None


def _venue_value(engine: TradingEngine, balances: Balances, venue: str) -> Decimal | None:
    total = ZERO
    for (where, asset), balance in balances.items():
        if where != venue or not balance.total:
            continue
        price = _price(engine, asset)
        if price is None:
            return None  # not valued until every asset on the venue has a price
        total += balance.total * price
    return total
