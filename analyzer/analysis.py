"""What every analysis is: a plain typed function from the lake and a scope (a time range, optional
exchanges and symbols) to one Arrow table.

Result tables share a shape so that one store and one REST endpoint serve them all:
- `ts` (timestamp[ns, UTC]): the start of the row's bucket (candle, hour, interval);
- `symbol` (string): the symbol, or the path for triangular rows (`USDT>BTC>ETH>USDT`);
- the venue columns: `exchange`, or `buy_exchange` and `sell_exchange` for a venue pair.
Everything else is the analysis' own. Floats are float64; unknown values are null, never NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from shared.lake.reader import LakeReader
from shared.settings import Settings

NS_PER_S = 1_000_000_000
VENUE_COLUMNS = ("exchange", "buy_exchange", "sell_exchange")


@dataclass(frozen=True)
class Scope:
    """Half-open [start_ns, end_ns) on receive time; None: every exchange / every symbol."""

    start_ns: int
    end_ns: int
    exchanges: tuple[str, ...] | None = None
    symbols: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns:
            raise ValueError(f"empty range: end {self.end_ns} is not after start {self.start_ns}")

    def wants_exchange(self, exchange: str) -> bool:
        return self.exchanges is None or exchange in self.exchanges

    def wants_symbol(self, symbol: str) -> bool:
        return self.symbols is None or symbol in self.symbols


# The root settings: parameters are under `settings.analyzer`; fees through `settings.taker_fee_bps(venue)`.
Analysis = Callable[[LakeReader, Scope, Settings], pa.Table]
