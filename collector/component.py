"""The interface of everything the collector runs beside ingest (fan-out server, lake writer, REST API)."""

from __future__ import annotations

from typing import Protocol


class Component(Protocol):
    name: str

    async def start(self) -> None:
        """Bind sockets, attach to the dispatcher, start background tasks."""

    async def stop(self) -> None:
        """Finish cleanly: called after ingest has stopped, so no event arrives any more."""
