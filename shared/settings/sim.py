"""The simulated market: venues on loopback, the price model, dislocations and fault injection."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from shared.symbols import is_normalized
from shared.settings.base import Section


class SimVenueSettings(Section):
    rest_port: int = Field(ge=0, le=65535)  # plain http: symbol lists, book snapshots, tokens
    ws_port: int = Field(ge=0, le=65535)  # wss with the sim's own certificate
    lag_ms: float = Field(default=50.0, ge=0)  # how far this venue trails the common fair price
    noise_bps: float = Field(default=1.0, ge=0)  # venue-specific price noise
    spread_ticks: int = Field(default=2, ge=1)  # typical quoted spread, in ticks


class SimSymbolSettings(Section):
    price: float = Field(gt=0)  # starting fair price
    tick: float = Field(gt=0)  # price increment
    lot: float = Field(gt=0)  # size increment
    volatility_bps: float = Field(default=2.0, ge=0)  # per-step standard deviation in calm regime
    depth_levels: int = Field(default=20, ge=1, le=1000)
    level_size: float = Field(default=1.0, gt=0)  # typical size at a level, in base units


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


class SimSettings(Section):
    host: str = "127.0.0.1"
    seed: int = 7
    tls_dir: str = "data/tls"  # where the sim writes its CA and certificate, and the collector reads the CA
    rate: float = Field(default=20.0, gt=0)  # market messages per second per venue
    venues: dict[str, SimVenueSettings] = Field(default_factory=dict)
    symbols: dict[str, SimSymbolSettings] = Field(default_factory=dict)
    dislocation: DislocationSettings = DislocationSettings()
    faults: FaultSettings = FaultSettings()

    @field_validator("symbols")
    @classmethod
    def _symbols_normalized(cls, value: dict[str, SimSymbolSettings]) -> dict[str, SimSymbolSettings]:
        for symbol in value:
            if not is_normalized(symbol):
                raise ValueError(f"symbol {symbol!r} is not of the form BASE-QUOTE in upper case (e.g. BTC-USDT)")
        return value

    @model_validator(mode="after")
    def _ports_distinct(self) -> "SimSettings":
        ports = [p for v in self.venues.values() for p in (v.rest_port, v.ws_port) if p]
        if len(ports) != len(set(ports)):
            raise ValueError("two venues (or a venue's rest and ws) share a port")
        return self
