"""The trader's API (FastAPI): status, sessions, strategy instances, kill switch, safe mode and metrics."""

from trader.api.app import Control, create_app
from trader.api.component import ApiComponent

__all__ = ["ApiComponent", "Control", "create_app"]
