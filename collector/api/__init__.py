"""The collector's REST API (FastAPI): health, metrics, live tickers and spreads, analyzer summaries, candles (docs/api.md)."""

from collector.api.app import create_app
from collector.api.component import ApiComponent

__all__ = ["ApiComponent", "create_app"]
