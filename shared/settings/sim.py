"""The simulated market: venues on loopback, the price model, dislocations and fault injection."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from shared.settings.base import Section
from shared.symbols import is_normalized


class SimVenueSettings(Section):
    # 0 picks a free port; the running simulator reports the ports it bound.
    rest_port: int = Field(ge=0, le=65535)  # plain http: symbol lists, book snapshots, tokens
    ws_port: int = Field(ge=0, le=65535)  # wss with the sim's own certificate
    lag_ms: float = Field(default=50.0, ge=0)  # how far this venue trails the common fair price
    noise_bps: float = Field(default=1.0, ge=0)  # venue-specific price noise (a slowly mean-reverting offset)
    spread_ticks: int = Field(default=2, ge=1)  # typical quoted spread, in ticks


class SimSymbolSettings(Section):
    # Starting fair price. A symbol that closes a cycle (ETH-BTC next to BTC-USDT and ETH-USDT) takes
    # its price from the others, so that triangles start (and stay, apart from noise) consistent.
    price: float = Field(gt=0)
    tick: float = Field(gt=0)  # price increment
    lot: float = Field(gt=0)  # size increment
    volatility_bps: float = Field(default=2.0, ge=0)  # standard deviation per 100 ms step in the calm regime
    depth_levels: int = Field(default=20, ge=1, le=1000)  # price levels kept on each side of every venue's book
    level_size: float = Field(default=1.0, gt=0)  # typical size at a level, in base units
    depth_span_bps: float = Field(default=20.0, gt=0)  # roughly how far from the best price the levels reach


class RegimeSettings(Section):
    """Market-wide volatility regimes: long calm stretches broken by shorter volatile ones."""

    calm_mean_s: float = Field(default=120.0, gt=0)  # mean time spent calm before turning volatile
    volatile_mean_s: float = Field(default=30.0, gt=0)  # mean time spent volatile before calming down
    volatile_multiplier: float = Field(default=4.0, ge=1)  # volatility in the volatile regime, as a multiple of calm
    correlation: float = Field(default=0.7, ge=0, le=1)  # correlation of the moves of different assets


class DislocationSettings(Section):
    size_bps: float = Field(default=25.0, ge=0)  # how far one venue jumps away from the others
    every_s: float = Field(default=20.0, ge=0)  # mean time between dislocations (0: none)
    duration_s: float = Field(default=2.0, ge=0)


class FaultSettings(Section):
    """Injected faults; 0 disables each. Used by tests and to exercise the collector's recovery."""

    drop_every_s: float = Field(default=0.0, ge=0)  # close every websocket connection this often
    stall_every_s: float = Field(default=0.0, ge=0)  # stop sending on every stream this often...
    stall_s: float = Field(default=0.0, ge=0)  # ...for this long
    skip_sequence_every: int = Field(default=0, ge=0)  # drop one book update every N (a sequence gap)
    rest_error_rate: float = Field(default=0.0, ge=0, le=1)  # fraction of REST calls answered with HTTP 500


def _triangle() -> dict[str, SimSymbolSettings]:
    # The smallest set with a triangular path; config/demo.yaml lists the same.
    return {
        "BTC-USDT": SimSymbolSettings(price=65000.0, tick=0.01, lot=0.00001, volatility_bps=1.5, level_size=0.5),
        "ETH-USDT": SimSymbolSettings(price=3200.0, tick=0.01, lot=0.0001, volatility_bps=2.0, level_size=5.0),
        "ETH-BTC": SimSymbolSettings(price=0.04923, tick=0.00001, lot=0.0001, volatility_bps=1.5, level_size=5.0),
    }


class SimSettings(Section):
    host: str = "127.0.0.1"
    seed: int = 7
    tls_dir: str = "data/tls"  # where the sim writes its CA and certificate, and the collector reads the CA
    # Market messages (book updates, trades, tickers) per second per venue, over all symbols, on
    # average; each subscribed stream sees its share.
    rate: float = Field(default=20.0, gt=0)
    venues: dict[str, SimVenueSettings] = Field(default_factory=dict)
    symbols: dict[str, SimSymbolSettings] = Field(default_factory=_triangle)
    regimes: RegimeSettings = RegimeSettings()
    dislocation: DislocationSettings = DislocationSettings()
    faults: FaultSettings = FaultSettings()

    @field_validator("symbols")
    @classmethod
    def _symbols_normalized(cls, value: dict[str, SimSymbolSettings]) -> dict[str, SimSymbolSettings]:
        for symbol in value:
            if not is_normalized(symbol):
                raise ValueError(f"symbol {symbol!r} is not of the form BASE-QUOTE in upper case (e.g. BTC-USDT)")
        if not value:
            raise ValueError("the simulator needs at least one symbol")
        return value

    @model_validator(mode="after")
    def _ports_distinct(self) -> SimSettings:
        ports = [p for v in self.venues.values() for p in (v.rest_port, v.ws_port) if p]
        if len(ports) != len(set(ports)):
            raise ValueError("two venues (or a venue's rest and ws) share a port")
        return self
