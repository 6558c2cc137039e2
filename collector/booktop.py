"""The top levels of one side of a book, kept up to date from each update's changes.

Reading levels out of cryptofeed's book (and converting its Decimals) costs more than parsing the
update itself, so each side keeps a few more levels than it publishes and applies the update's
changes (cryptofeed's `delta`) to them; it reads the book again only when deletions leave fewer
known levels than it publishes.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any, NamedTuple

from shared.events import Level


class SideTop(NamedTuple):  # a NamedTuple: built on every book update, and far cheaper than a frozen dataclass
    levels: tuple[Level, ...]  # best first, up to `keep`
    keys: tuple[float, ...]  # ascending sort keys of `levels`: -price for bids, price for asks
    # Every level of the book at this price or better is in `levels`; None: the whole side is.
    complete_to: float | None
    top: tuple[Level, ...]  # the published levels: the first `depth`


def read_side(side: Any, depth: int, keep: int, bid: bool) -> SideTop:
    n = min(keep, len(side))
    levels = []
    for i in range(n):
        price, size = side.index(i)
        levels.append((float(price), float(size)))
    keys = tuple(-p for p, _ in levels) if bid else tuple(p for p, _ in levels)
    kept = tuple(levels)
    return SideTop(kept, keys, levels[-1][0] if len(side) > keep else None, kept[:depth])


def apply_changes(current: SideTop, changes: Any, bid: bool, depth: int, keep: int, side: Any) -> SideTop:
    """`current` after `changes` ((price, size) pairs, size 0 deletes), reading `side` only when needed."""
    edge = current.complete_to
    levels: list[Level] | None = None
    keys: list[float] = []
    for change in changes:
        price = float(change[0])
        # Changes beyond what is known cannot enter the kept levels; in a deep book that is most of them.
        if edge is not None and (price < edge if bid else price > edge):
            continue
        if levels is None:
            levels = list(current.levels)
            keys = list(current.keys)
        size = float(change[1])
        key = -price if bid else price
        i = bisect_left(keys, key)
        present = i < len(keys) and keys[i] == key
        if size == 0.0:
            if present:
                del keys[i]
                del levels[i]
        elif present:
            levels[i] = (price, size)
        else:
            keys.insert(i, key)
            levels.insert(i, (price, size))
    if levels is None:
        return current
    if len(levels) < depth and edge is not None:
        return read_side(side, depth, keep, bid)  # lost levels that only the whole book can refill
    if len(levels) > keep:
        del levels[keep:]
        del keys[keep:]
        edge = levels[-1][0]
    kept = tuple(levels)
    top = kept[:depth]
    # Unchanged published levels stay the same object, so consumers can compare by identity.
    return SideTop(kept, tuple(keys), edge, current.top if top == current.top else top)
