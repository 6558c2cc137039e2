"""The simulated exchanges, by the name used in `sim.venues` of the settings.

Adding a venue: write its module (a `Venue` subclass) and register it here.
"""

from __future__ import annotations

from sim.venues.base import Venue
from sim.venues.binance import Binance
from sim.venues.bybit import Bybit
from sim.venues.gateio import Gateio
from sim.venues.kucoin import KuCoin

VENUES: dict[str, type[Venue]] = {cls.name: cls for cls in (Binance, Bybit, Gateio, KuCoin)}

__all__ = ["VENUES", "Venue"]
