"""What the collector knows about its own health: each feed's connection state from status events,
and a summary other components add to (lake, fan-out). Read by the REST API and the metrics.

Every text in the report passes through `redact`: status details are masked where they are made,
but a component's `last_error` is whatever its library said (an object store's error, say).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.events import Event, Status, StatusKind
from shared.redact import redact

_UNTRUSTED = {StatusKind.DISCONNECTED, StatusKind.GAP}


@dataclass
class FeedState:
    connections: int = 0  # open websocket connections
    last_status: StatusKind | None = None  # None: nothing heard yet (starting)
    last_status_ns: int = 0
    last_detail: str = ""
    disconnects: int = 0
    gaps: int = 0
    resyncs: int = 0


@dataclass
class HealthTracker:
    """A dispatcher consumer (status events only) plus the health sections of other components."""

    feeds: dict[str, FeedState] = field(default_factory=dict)
    sections: dict[str, Callable[[], dict[str, Any]]] = field(default_factory=dict)
    redact: Callable[[str], str] = redact  # the collector passes one that also knows its configured secrets

    def __call__(self, event: Event) -> None:
        if not isinstance(event, Status):
            return
        state = self.feeds.setdefault(event.exchange, FeedState())
        state.last_status, state.last_status_ns, state.last_detail = event.kind, event.ts_recv, event.detail
        if event.kind is StatusKind.CONNECTED:
            state.connections += 1
        elif event.kind is StatusKind.DISCONNECTED:
            state.connections = max(0, state.connections - 1)
            state.disconnects += 1
        elif event.kind is StatusKind.GAP:
            state.gaps += 1
        elif event.kind is StatusKind.RESYNC:
            state.resyncs += 1

    def expect(self, exchanges: list[str]) -> None:
        for name in exchanges:
            self.feeds.setdefault(name, FeedState())

    def snapshot(self) -> dict[str, Any]:
        feeds = {
            name: {
                "healthy": state.connections > 0 and state.last_status not in _UNTRUSTED,
                "connections": state.connections,
                "last_status": state.last_status.value if state.last_status else "starting",
                "last_status_ns": state.last_status_ns,
                "last_detail": self.redact(state.last_detail),
                "disconnects": state.disconnects,
                "gaps": state.gaps,
                "resyncs": state.resyncs,
            }
            for name, state in sorted(self.feeds.items())
        }
        report: dict[str, Any] = {"feeds": feeds}
        problems = [f"feed {name} is not connected" for name, feed in feeds.items() if not feed["healthy"]]
        for name, section in self.sections.items():
            data = {key: self.redact(value) if isinstance(value, str) else value for key, value in section().items()}
            report[name] = data
            if data.get("failing"):
                problems.append(f"{name}: {data.get('last_error') or 'failing'}")
        report["status"] = "ok" if not problems else "degraded"
        report["problems"] = problems
        return report
