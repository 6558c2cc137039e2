"""The one validated settings object every service is built from."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.settings.analyzer import AnalyzerSettings, FlowsSettings
from shared.settings.api import ApiSettings
from shared.settings.base import Section
from shared.settings.collector import CollectorSettings
from shared.settings.lake import LakeSettings
from shared.settings.market import EndpointKind, ExchangeSettings
from shared.settings.server import ServerSettings
from shared.settings.sim import SimSettings
from shared.settings.trader import TraderSettings, trader_problem


class Settings(Section):
    exchanges: dict[str, ExchangeSettings] = Field(default_factory=dict)
    sim: SimSettings = SimSettings()
    collector: CollectorSettings = CollectorSettings()
    server: ServerSettings = ServerSettings()
    lake: LakeSettings = LakeSettings()
    api: ApiSettings = ApiSettings()
    trader: TraderSettings = TraderSettings()
    analyzer: AnalyzerSettings = AnalyzerSettings()
    flows: FlowsSettings = FlowsSettings()

    @model_validator(mode="after")
    def _exchanges_known(self) -> Settings:
        known = cryptofeed_exchanges()
        for name in self.exchanges:
            if name not in known:
                raise _KeyedError(f"exchanges.{name}", f"unknown exchange {name!r} (known: {', '.join(sorted(known))})")
        return self

    @model_validator(mode="after")
    def _sim_endpoints_exist(self) -> Settings:
        for name, exchange in self.exchanges.items():
            if exchange.endpoint is not EndpointKind.SIM:
                continue
            if name not in self.sim.venues:
                raise _KeyedError(f"exchanges.{name}.endpoint", f"is 'sim' but sim.venues has no '{name}'")
            for i, symbol in enumerate(exchange.symbols):
                if symbol not in self.sim.symbols:
                    raise _KeyedError(
                        f"exchanges.{name}.symbols.{i}",
                        f"unknown symbol {symbol!r} on venue '{name}' (the sim lists: {', '.join(self.sim.symbols)})",
                    )
        return self

    @model_validator(mode="after")
    def _trader_consistent(self) -> Settings:
        problem = trader_problem(self.trader, self.exchanges, self.sim)
        if problem:
            raise _KeyedError(*problem)
        return self


    def taker_fee_bps(self, venue: str) -> float:
        """One fee per venue for the analyzer and the live spreads: `analyzer.taker_fee_bps`, else the
        trader's `trader.venues.<venue>.taker_fee_bps`, else `analyzer.default_taker_fee_bps`."""
        if venue in self.analyzer.taker_fee_bps:
            return self.analyzer.taker_fee_bps[venue]
        if venue in self.trader.venues:
            return float(self.trader.venues[venue].taker_fee_bps)
        return self.analyzer.default_taker_fee_bps


def cryptofeed_exchanges() -> set[str]:
    """Venue ids the collector can follow: cryptofeed's exchanges, lower-cased (`binance`, `gateio`, ...)."""
    from cryptofeed.exchanges import EXCHANGE_MAP  # imported late: only configs naming exchanges pay for it

    return {name.lower() for name in EXCHANGE_MAP}


class _KeyedError(ValueError):
    """A cross-field error that knows which key is wrong (pydantic would blame the root)."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}")
