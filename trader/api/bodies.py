"""What the trader's API sends and accepts: typed bodies, documented in its OpenAPI description.

Responses are the engine's own values (msgspec structs and dataclasses, Decimals as strings), encoded
with `shared.trading.encode`; their JSON Schemas come from msgspec. Requests are pydantic models, so a
bad field is a 422 that names it. A new strategy instance is described exactly as in the settings file
(`InstanceSettings`), and checked by the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from shared.settings.trader import InstanceSettings
from trader.engine import EngineStatus
from trader.journal import SessionTotals
from trader.risk import SafeModeStatus

__all__ = [
    "Conflict",
    "InstanceRejected",
    "InstanceSettings",
    "KillRequest",
    "LimitUse",
    "MarketState",
    "SafeModeExit",
    "SessionBody",
    "StatusBody",
    "StreamState",
]


class KillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    flatten: bool = Field(default=False, description="Also unwind the remaining exposure with market orders, under the risk limits")
    reason: str = Field(default="operator", min_length=1, max_length=200, description="Recorded in the journal and the status")


@dataclass(frozen=True, slots=True)
class MarketState:
    """Whether one venue/symbol can be traded now, and why not."""

    venue: str
    symbol: str
    tradeable: bool
    reason: str | None  # no_data, stale, feed_down, awaiting_data, bad_data
    detail: str
    book_age_ms: float | None
    latency_ms: float | None  # exchange timestamp to the collector's receive time, of the latest book


@dataclass(frozen=True, slots=True)
class LimitUse:
    """How much of one risk limit is in use (both in the limit's own unit)."""

    limit: str  # open_orders, daily_loss, position.<ASSET>, position_value.<ASSET>, venue_value.<venue>
    used: Decimal
    maximum: Decimal


@dataclass(frozen=True, slots=True)
class StreamState:
    url: str
    connected: bool
    events: int
    errors: int  # events the engine failed on
    frames_missed: int  # sequence gaps on the trader's own connection
    notices: dict[str, int]  # notice kind -> count
    last_notice: str


@dataclass(frozen=True, slots=True)
class StatusBody(EngineStatus):
    mode: str
    market: tuple[MarketState, ...]
    limits_used: tuple[LimitUse, ...]
    stream: StreamState | None


@dataclass(frozen=True, slots=True)
class SessionBody:
    id: int
    started_ns: int
    ended_ns: int | None
    end_reason: str
    current: bool  # the session of this run
    realized_pnl: dict[str, Decimal]  # per profit asset, after fees: running for the current session
    totals: SessionTotals | None  # written when the session ended


@dataclass(frozen=True, slots=True)
class SafeModeExit:
    was_active: bool
    safe_mode: SafeModeStatus  # after the exit; a cause that still holds enters it again at its next check


class InstanceRejected(ValueError):
    """A new strategy instance that breaks a rule the settings file would also enforce: answered 422 naming `field`."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class Conflict(RuntimeError):
    """A request the trader's state does not allow now (an instance id in use, a trader shutting down): 409."""
