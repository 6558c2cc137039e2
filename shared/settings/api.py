"""The collector's REST API: health and Prometheus metrics (later parts add prices, spreads, analyses)."""

from __future__ import annotations

from pydantic import Field

from shared.settings.base import Section


class ApiSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8780, ge=0, le=65535)
