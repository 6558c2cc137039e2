"""Realized PnL after fees: of one arbitrage (in its profit asset, per venue), and of a series of them
(maximum drawdown, Sharpe ratio). Pure functions over fills; the `PnlLedger` adds them up per venue,
strategy instance and session.

An arbitrage's PnL is the net change of its profit asset from every fill (fees included), plus what
its fills left in other assets (a cross-exchange trade's base under one lot, say) marked at the last
price the arbitrage itself traded that asset at against the profit asset: as the strategies count it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.symbols import split
from shared.trading import ArbitrageAttempt, Fill

ZERO = Decimal(0)
ONE = Decimal(1)


def _marks(fills: Sequence[Fill], profit_asset: str) -> dict[str, Decimal]:
    """The last traded price of each asset in the profit asset, from these fills."""
    marks: dict[str, Decimal] = {}
    for fill in fills:
        base, quote = split(fill.symbol)
        if quote == profit_asset:
            marks[base] = fill.price
        elif base == profit_asset and fill.price:
            marks[quote] = 1 / fill.price
    return marks


def fills_of(attempt: ArbitrageAttempt) -> tuple[Fill, ...]:
    return tuple(sorted((f for leg in (*attempt.legs, *attempt.hedges) for f in leg.fills), key=lambda f: f.ts_event))


def venue_pnl(attempt: ArbitrageAttempt) -> dict[str, Decimal]:
    """Realized PnL of the arbitrage per venue, in its profit asset, fees included."""
    fills = fills_of(attempt)
    marks = _marks(fills, attempt.profit_asset)
    out: dict[str, Decimal] = {}
    for fill in fills:
        for asset, delta in fill.deltas().items():
            value = delta if asset == attempt.profit_asset else delta * marks.get(asset, ZERO)
            out[fill.venue] = out.get(fill.venue, ZERO) + value
    return out


def attempt_pnl(attempt: ArbitrageAttempt) -> Decimal:
    return sum(venue_pnl(attempt).values(), ZERO)


def exposure_by_venue(attempt: ArbitrageAttempt) -> dict[str, dict[str, Decimal]]:
    """What the arbitrage's fills changed per venue and asset, the profit asset aside; zeros left out."""
    out: dict[str, dict[str, Decimal]] = {}
    for fill in fills_of(attempt):
        for asset, delta in fill.deltas().items():
            if asset != attempt.profit_asset:
                venue = out.setdefault(fill.venue, {})
                venue[asset] = venue.get(asset, ZERO) + delta
    return {v: {a: d for a, d in sorted(assets.items()) if d} for v, assets in sorted(out.items()) if any(assets.values())}


def max_drawdown(pnls: Sequence[Decimal]) -> Decimal:
    """The largest fall of the cumulative PnL from a previous peak (the start, 0, counts as one); 0 if it never fell."""
    total = peak = worst = ZERO
    for pnl in pnls:
        total += pnl
        peak = max(peak, total)
        worst = max(worst, peak - total)
    return worst


def sharpe(pnls: Sequence[Decimal]) -> float | None:
    """Mean over sample standard deviation of the per-arbitrage PnL (per trade, not annualized);
    None with fewer than two trades or no variation."""
    if len(pnls) < 2:
        return None
    values = [float(p) for p in pnls]
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return None if variance <= 0 else mean / math.sqrt(variance)


@dataclass(frozen=True, slots=True)
class Realized:
    attempt_id: str
    instance_id: str
    session_id: int
    ts: int
    asset: str  # the profit asset
    amount: Decimal
    by_venue: dict[str, Decimal]
    valued: Decimal | None  # in the valuation asset, when a price was known


def _add(table: dict[str, dict[str, Decimal]], key: str, asset: str, amount: Decimal) -> None:
    row = table.setdefault(key, {})
    row[asset] = row.get(asset, ZERO) + amount


class PnlLedger:
    """Realized PnL of final arbitrages, added up per venue, instance and session, per profit asset."""

    def __init__(self, valuation_asset: str, price_of: Callable[[str], Decimal | None]) -> None:
        self.valuation_asset = valuation_asset
        self._price_of = price_of
        self.entries: list[Realized] = []
        self.by_venue: dict[str, dict[str, Decimal]] = {}
        self.by_instance: dict[str, dict[str, Decimal]] = {}
        self.by_session: dict[str, dict[str, Decimal]] = {}
        self._since: tuple[int | None, int, Decimal] = (None, 0, ZERO)  # ts asked, entries counted, their sum

    def add(self, attempt: ArbitrageAttempt, session_id: int, ts: int) -> Realized:
        by_venue = venue_pnl(attempt)
        amount = sum(by_venue.values(), ZERO)
        price = ONE if attempt.profit_asset == self.valuation_asset else self._price_of(attempt.profit_asset)
        entry = Realized(attempt.id, attempt.instance_id, session_id, ts, attempt.profit_asset, amount, by_venue,
                         amount * price if price is not None else None)
        self.entries.append(entry)
        for venue, pnl in by_venue.items():
            _add(self.by_venue, venue, attempt.profit_asset, pnl)
        _add(self.by_instance, attempt.instance_id, attempt.profit_asset, amount)
        _add(self.by_session, str(session_id), attempt.profit_asset, amount)
        return entry

    def series(self) -> list[Decimal]:
        """Per-arbitrage PnL in the valuation asset, oldest first (those without a price left out)."""
        return [e.valued for e in self.entries if e.valued is not None]

    def since(self, ts: int) -> Decimal:
        """Realized PnL in the valuation asset of the arbitrages settled at or after `ts`. The risk manager asks
        on every proposal, always from the day's start, while the entries only grow: the sum for the last `ts`
        asked is carried forward over the entries added since, not taken over the whole history again."""
        asked, counted, total = self._since
        if asked != ts:
            counted, total = 0, ZERO
        entries = self.entries
        for i in range(counted, len(entries)):
            entry = entries[i]
            if entry.valued is not None and entry.ts >= ts:
                total += entry.valued
        self._since = (ts, len(entries), total)
        return total

    def session(self, session_id: int) -> dict[str, Decimal]:
        return dict(self.by_session.get(str(session_id), {}))
