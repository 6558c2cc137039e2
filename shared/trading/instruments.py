"""What a venue allows for a symbol: tick and lot grids, minimum size and notional, maker and taker fees.

Orders are rounded to these grids before they are proposed, and a proposal that rounds below a minimum
is not made. Fees are rates (0.001 = 10 bps) charged on the asset received, as spot venues usually do:
a buy of `amount` base yields `amount * (1 - fee)` base, a sell yields `amount * price * (1 - fee)` quote.
`shared.pricing` assumes the same, so a path's value is the product of its legs' rates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

import msgspec

from shared.symbols import split
from shared.trading.enums import Liquidity, Side

ZERO = Decimal(0)


def spot_pair(symbol: str) -> tuple[str, str]:
    """(base, quote) of a spot symbol; the trader trades spot only, so a derivative's name is refused."""
    base, quote = split(symbol)
    if symbol != f"{base}-{quote}":
        raise ValueError(f"symbol {symbol!r} is not a spot pair BASE-QUOTE: the trader trades spot only")
    return base, quote


_DECIMALS: dict[float, Decimal] = {}
_DECIMALS_MAX = 65_536


def to_decimal(value: float) -> Decimal:
    """A float from the market data as the decimal it was printed as (65000.01, not 65000.0100000000020...)."""
    # Books repeat the same prices and sizes: remembered, as this runs for every level strategies read.
    # Floats only: 1 and 1.0 hash alike but print as Decimal('1') and Decimal('1.0').
    if type(value) is not float:
        return Decimal(repr(value))
    decimal = _DECIMALS.get(value)
    if decimal is None:
        if len(_DECIMALS) >= _DECIMALS_MAX:
            _DECIMALS.clear()
        decimal = _DECIMALS[value] = Decimal(repr(value))
    return decimal


def _on_grid(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    # Dividing by the step handles grids that are not powers of ten (a lot of 0.5 or 5);
    # quantizing to the step's exponent keeps the result printed at the venue's precision.
    steps = (value / step).to_integral_value(rounding=rounding)
    return (steps * step).quantize(step)


class InstrumentSpec(msgspec.Struct, frozen=True):
    venue: str
    symbol: str  # BASE-QUOTE
    tick_size: Decimal  # price increment
    lot_size: Decimal  # size increment, in base units
    min_size: Decimal = ZERO  # smallest order size, in base units
    min_notional: Decimal = ZERO  # smallest order value, in quote units
    maker_fee: Decimal = ZERO
    taker_fee: Decimal = ZERO

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.lot_size <= 0:
            raise ValueError(f"{self.venue} {self.symbol}: tick_size and lot_size must be positive")
        if self.min_size < 0 or self.min_notional < 0:
            raise ValueError(f"{self.venue} {self.symbol}: min_size and min_notional cannot be negative")
        for name, fee in (("maker_fee", self.maker_fee), ("taker_fee", self.taker_fee)):
            # A negative maker fee is a rebate, which some venues pay; a fee of 100% or more is a typo.
            if not -1 < fee < 1:
                raise ValueError(f"{self.venue} {self.symbol}: {name} {fee} is not a rate in (-1, 1)")
        spot_pair(self.symbol)

    @property
    def base(self) -> str:
        return split(self.symbol)[0]

    @property
    def quote(self) -> str:
        return split(self.symbol)[1]

    def fee_rate(self, liquidity: Liquidity) -> Decimal:
        return self.maker_fee if liquidity is Liquidity.MAKER else self.taker_fee

    # rounding ----------------------------------------------------------------

    def round_amount(self, amount: Decimal) -> Decimal:
        """Down to the lot: an order never asks for more than was meant (or is held)."""
        return _on_grid(amount, self.lot_size, ROUND_DOWN)

    def round_amount_up(self, amount: Decimal) -> Decimal:
        return _on_grid(amount, self.lot_size, ROUND_CEILING)

    def floor_price(self, price: Decimal) -> Decimal:
        return _on_grid(price, self.tick_size, ROUND_FLOOR)

    def ceil_price(self, price: Decimal) -> Decimal:
        return _on_grid(price, self.tick_size, ROUND_CEILING)

    def nearest_price(self, price: Decimal) -> Decimal:
        return _on_grid(price, self.tick_size, ROUND_HALF_EVEN)

    def passive_price(self, side: Side, price: Decimal) -> Decimal:
        """The tick price no better for the counterparty than `price`: a bid rounds down, an ask up."""
        return self.floor_price(price) if side is Side.BUY else self.ceil_price(price)

    def aggressive_price(self, side: Side, price: Decimal) -> Decimal:
        """The tick price that still reaches `price`: a buy limit rounds up, a sell limit down."""
        return self.ceil_price(price) if side is Side.BUY else self.floor_price(price)

    # checks and fees -----------------------------------------------------------

    def meets_minimums(self, amount: Decimal, price: Decimal) -> bool:
        return amount > 0 and amount >= self.min_size and amount * price >= self.min_notional

    def shortfall(self, amount: Decimal, price: Decimal) -> str | None:
        """Why an order of `amount` at `price` is too small for this venue, or None."""
        if amount <= 0:
            return f"{self.venue} {self.symbol}: size rounds to 0 at lot {self.lot_size}"
        if amount < self.min_size:
            return f"{self.venue} {self.symbol}: size {amount} is under the minimum {self.min_size}"
        if amount * price < self.min_notional:
            return f"{self.venue} {self.symbol}: notional {amount * price} is under the minimum {self.min_notional}"
        return None

    def received_asset(self, side: Side) -> str:
        return self.base if side is Side.BUY else self.quote

    def spent_asset(self, side: Side) -> str:
        return self.quote if side is Side.BUY else self.base

    def fee(self, side: Side, amount: Decimal, price: Decimal, liquidity: Liquidity) -> Decimal:
        """The fee of a fill, in the received asset (`received_asset(side)`)."""
        gross = amount if side is Side.BUY else amount * price
        return gross * self.fee_rate(liquidity)

    def received(self, side: Side, amount: Decimal, price: Decimal, liquidity: Liquidity) -> Decimal:
        """What a fill of `amount` at `price` yields, after its fee, in the received asset."""
        gross = amount if side is Side.BUY else amount * price
        return gross - gross * self.fee_rate(liquidity)


class Instruments(Mapping[tuple[str, str], InstrumentSpec]):
    """Every (venue, symbol) the trader may trade, with its spec."""

    __slots__ = ("_specs",)

    def __init__(self, specs: Iterable[InstrumentSpec] = ()) -> None:
        self._specs: dict[tuple[str, str], InstrumentSpec] = {}
        for spec in specs:
            key = (spec.venue, spec.symbol)
            if key in self._specs:
                raise ValueError(f"instrument {spec.venue} {spec.symbol} is specified twice")
            self._specs[key] = spec

    def __getitem__(self, key: tuple[str, str]) -> InstrumentSpec:
        try:
            return self._specs[key]
        except KeyError:
            raise KeyError(f"no instrument spec for {key[0]} {key[1]}: add it to the trader's instruments") from None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)

    def spec(self, venue: str, symbol: str) -> InstrumentSpec:
        return self[(venue, symbol)]

