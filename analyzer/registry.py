"""Every analysis by name (the names of shared/summary/names.py), and the lake channels each one reads."""

from __future__ import annotations

from analyzer.analysis import Analysis
from analyzer.candles import candles
from analyzer.opportunities import opportunities
from analyzer.quality import quality
from analyzer.spreads import spreads
from analyzer.triangular import triangular
from analyzer.volatility import volatility
from shared.events import Channel
from shared.settings import Settings

REGISTRY: dict[str, Analysis] = {
    "candles": candles,
    "spreads": spreads,
    "opportunities": opportunities,
    "triangular": triangular,
    "volatility": volatility,
    "quality": quality,
}

# The channels each analysis reads: the runner counts their input rows for each result's manifest (`rows_read`).
INPUTS: dict[str, tuple[Channel, ...]] = {
    "candles": (Channel.TRADE, Channel.TICKER),  # trade candles, and mid-price candles from the ticker
    "spreads": (Channel.TICKER, Channel.BOOK),  # top of book; the book only for symbols in analyzer.depth_size
    "opportunities": (Channel.TICKER, Channel.BOOK),
    "triangular": (Channel.TICKER,),
    "volatility": (Channel.TICKER, Channel.TRADE),
    "quality": (Channel.TICKER, Channel.TRADE, Channel.BOOK, Channel.STATUS),
}
_DEPTH_WALKED = {"spreads", "opportunities"}


def inputs(name: str, settings: Settings) -> tuple[Channel, ...]:
    """The channels `name` reads with these settings (the book only when depth-walked spreads are configured)."""
    channels = INPUTS.get(name, tuple(Channel))
    if name in _DEPTH_WALKED and not settings.analyzer.depth_size:
        return tuple(c for c in channels if c is not Channel.BOOK)
    return channels
