"""The collector's REST API (FastAPI): health and metrics."""

from collector.api.app import create_app
from collector.api.component import ApiComponent

__all__ = ["ApiComponent", "create_app"]
