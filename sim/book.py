"""One venue's L2 book for one symbol, as the venue's matching engine would publish it.

Every operation collects the levels it touched and commits them as `LevelChange`s with fresh,
consecutive update ids, so replaying the emitted changes onto a snapshot reproduces the book
exactly. Invariant: every bid is strictly below every ask (quotes are placed behind the best price
or at the target quote, after clearing whatever would cross it; trades only remove size).
"""

from __future__ import annotations

import bisect
import math
from random import Random

from sim.model_events import BookSide, LevelChange, TakerSide

BID, ASK = BookSide.BID, BookSide.ASK


class VenueBook:
    def __init__(
        self,
        *,
        depth_levels: int,
        spread_ticks: int,
        mean_gap_ticks: float,
        mean_level_lots: float,
        rng: Random,
        update_id: int,
        seq: int,
    ) -> None:
        self._depth = depth_levels
        self._spread = spread_ticks
        self._max_gap = max(1, round(2 * mean_gap_ticks) - 1)
        self._mean_lots = mean_level_lots
        self._rng = rng
        self._levels: dict[BookSide, dict[int, int]] = {BID: {}, ASK: {}}
        self._prices: dict[BookSide, list[int]] = {BID: [], ASK: []}  # ascending on both sides
        self._touched: dict[tuple[BookSide, int], int] = {}  # level -> size before this operation
        self.update_id = update_id  # id of the last change applied
        self.seq = seq  # number of the last committed change set

    # --- reading -----------------------------------------------------------------------------

    def best(self, side: BookSide) -> tuple[int, int] | None:
        prices = self._prices[side]
        if not prices:
            return None
        price = prices[-1] if side is BID else prices[0]
        return price, self._levels[side][price]

    def levels(self, side: BookSide, depth: int | None = None) -> list[tuple[int, int]]:
        """(price, size) best first."""
        prices = self._prices[side]
        ordered = reversed(prices) if side is BID else iter(prices)
        sizes = self._levels[side]
        out: list[tuple[int, int]] = []
        for price in ordered:
            if depth is not None and len(out) >= depth:
                break
            out.append((price, sizes[price]))
        return out

    def top(self) -> tuple[int, int, int, int] | None:
        bid, ask = self.best(BID), self.best(ASK)
        if bid is None or ask is None:
            return None
        return bid[0], bid[1], ask[0], ask[1]

    # --- operations --------------------------------------------------------------------------

    def seed(self, mid_ticks: float) -> None:
        """Fill both sides around `mid_ticks`; the result is the initial state (no changes emitted)."""
        self.requote(mid_ticks)
        self.seq -= 1  # seeding is not a published update

    def requote(self, mid_ticks: float) -> list[LevelChange]:
        """Move the quote to `mid_ticks`, churn one level and restore the depth: one book update."""
        spread = self._spread + (1 if self._rng.random() < 0.25 else 0)
        bid = max(1, math.floor(mid_ticks - spread / 2 + 0.5))
        ask = bid + spread
        while self._prices[BID] and self._prices[BID][-1] > bid:
            self._set(BID, self._prices[BID][-1], 0)
        while self._prices[ASK] and self._prices[ASK][0] < ask:
            self._set(ASK, self._prices[ASK][0], 0)
        if bid not in self._levels[BID]:
            self._set(BID, bid, self._draw_size())
        if ask not in self._levels[ASK]:
            self._set(ASK, ask, self._draw_size())
        self._churn(BID if self._rng.random() < 0.5 else ASK)
        for side in (BID, ASK):
            self._keep_depth(side)
        return self._commit()

    def take(self, taker: TakerSide, lots: int) -> tuple[list[tuple[int, int, int]], list[LevelChange]]:
        """An aggressive order of `lots`: fills (price, size, update id) best first, and the book changes.

        The worst level is never consumed, so a side is never emptied by a trade.
        """
        side = ASK if taker is TakerSide.BUY else BID
        fills: list[tuple[int, int]] = []
        remaining = lots
        for price, size in self.levels(side)[:-1]:
            if remaining <= 0:
                break
            filled = min(size, remaining)
            self._set(side, price, size - filled)
            fills.append((price, filled))
            remaining -= filled
        changes = self._commit()
        ids = {c.price: c.update_id for c in changes}
        return [(price, size, ids[price]) for price, size in fills], changes

    # --- internals ---------------------------------------------------------------------------

    def _churn(self, side: BookSide) -> None:
        """Liquidity providers at work: resize, cancel or add one level behind the best price."""
        prices = self.levels(side)
        roll = self._rng.random()
        if roll < 0.6 or len(prices) < 2:
            # Activity concentrates near the top of the book.
            rank = min(int(self._rng.expovariate(1 / 3)), len(prices) - 1)
            price, size = prices[rank]
            new = self._draw_size()
            self._set(side, price, new if new != size else size + 1)
        elif roll < 0.8:
            rank = 1 + self._rng.randrange(len(prices) - 1)
            self._set(side, prices[rank][0], 0)
        else:
            best = prices[0][0]
            reach = max(1, self._depth * (self._max_gap + 1) // 2)
            distance = 1 + self._rng.randrange(reach)
            price = best - distance if side is BID else best + distance
            if price >= 1:
                self._set(side, price, self._levels[side].get(price, 0) + self._draw_size())

    def _keep_depth(self, side: BookSide) -> None:
        prices = self._prices[side]
        while len(prices) > self._depth:
            self._set(side, prices[0] if side is BID else prices[-1], 0)
        while 0 < len(prices) < self._depth:
            worst = prices[0] if side is BID else prices[-1]
            gap = 1 + self._rng.randrange(self._max_gap)
            price = worst - gap if side is BID else worst + gap
            if price < 1:
                break
            self._set(side, price, self._draw_size())

    def _draw_size(self) -> int:
        # Lognormal with mean 1 (sigma 0.6): mostly near the typical size, sometimes several times it.
        return max(1, round(self._mean_lots * self._rng.lognormvariate(-0.18, 0.6)))

    def _set(self, side: BookSide, price: int, size: int) -> None:
        levels = self._levels[side]
        before = levels.get(price, 0)
        self._touched.setdefault((side, price), before)
        prices = self._prices[side]
        if size > 0:
            if before == 0:
                bisect.insort(prices, price)
            levels[price] = size
        elif before:
            del levels[price]
            del prices[bisect.bisect_left(prices, price)]

    def _commit(self) -> list[LevelChange]:
        touched = self._touched
        self._touched = {}
        final = [(side, price, self._levels[side].get(price, 0)) for (side, price), before in touched.items()]
        final = [(side, price, size) for side, price, size in final if size != touched[(side, price)]]
        if not final:
            return []
        final.sort(key=lambda c: (c[0] is ASK, -c[1] if c[0] is BID else c[1]))
        first = self.update_id + 1
        changes = [LevelChange(side, price, size, first + i) for i, (side, price, size) in enumerate(final)]
        self.update_id = changes[-1].update_id
        self.seq += 1
        return changes
