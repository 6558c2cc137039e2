"""The collector's WebSocket fan-out server."""

from __future__ import annotations

from pydantic import Field

from shared.settings.base import Section


class ServerSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
