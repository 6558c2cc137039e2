"""Listed symbols with exact price and size grids.

The model counts prices in ticks and sizes in lots (integers), so books never accumulate float
error; venues turn them into decimal strings with the formatting helpers here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.settings.sim import SimSymbolSettings
from shared.symbols import split


@dataclass(frozen=True, slots=True)
class Grid:
    """A decimal increment written as mantissa * 10**-places (0.01 -> (1, 2), 0.5 -> (5, 1))."""

    mantissa: int
    places: int

    @classmethod
    def of(cls, value: float) -> Grid:
        # repr() gives the shortest decimal that round-trips, i.e. what the user wrote in the config.
        exact = Decimal(repr(value)).normalize()
        sign, digits, exponent = exact.as_tuple()
        assert isinstance(exponent, int) and not sign
        mantissa = int("".join(map(str, digits)))
        if exponent > 0:
            return cls(mantissa * 10**exponent, 0)
        return cls(mantissa, -exponent)

    @property
    def step(self) -> Decimal:
        return Decimal(self.mantissa).scaleb(-self.places)

    def to_float(self, units: int) -> float:
        return units * self.mantissa / 10**self.places

    def fixed(self, units: int, places: int | None = None) -> str:
        """`units` steps as a decimal string with exactly `places` decimals (at least the grid's own)."""
        scaled = units * self.mantissa
        own = self.places
        if places is not None and places > own:
            scaled *= 10 ** (places - own)
            own = places
        if own == 0:
            return str(scaled)
        sign = "-" if scaled < 0 else ""
        digits = str(abs(scaled)).rjust(own + 1, "0")
        return f"{sign}{digits[:-own]}.{digits[-own:]}"

    def plain(self, units: int) -> str:
        """The shortest decimal string: no trailing zeros, never exponent notation."""
        text = self.fixed(units)
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text


@dataclass(frozen=True, slots=True)
class Instrument:
    symbol: str  # normalized, BASE-QUOTE
    base: str
    quote: str
    tick: Grid
    lot: Grid

    @classmethod
    def from_settings(cls, symbol: str, spec: SimSymbolSettings) -> Instrument:
        base, quote = split(symbol)
        return cls(symbol, base, quote, Grid.of(spec.tick), Grid.of(spec.lot))

    def notional(self, price_ticks: int, size_lots: int) -> float:
        return self.tick.to_float(price_ticks) * self.lot.to_float(size_lots)
