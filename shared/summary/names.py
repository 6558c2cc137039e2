"""The analyses every service knows by name (the collector's REST API serves them but cannot import analyzer/)."""

from __future__ import annotations

ANALYSES: tuple[str, ...] = ("candles", "spreads", "opportunities", "triangular", "volatility", "quality")
