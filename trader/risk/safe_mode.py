"""Safe mode: no new positions, only hedging and unwinding.

Causes are conditions the service reports as they start and stop (stale data on traded venues, a
reconciliation mismatch, repeated errors, unhedged exposure), plus an operator's own. With `auto_exit`,
safe mode ends when the last cause clears; without it, it stays until an operator ends it. An
operator's cause clears only by an operator.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SafeModeCause(StrEnum):
    STALE_DATA = "stale_data"
    RECONCILIATION = "reconciliation_mismatch"
    REPEATED_ERRORS = "repeated_errors"
    UNHEDGED_EXPOSURE = "unhedged_exposure"
    OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class SafeModeStatus:
    active: bool
    since: int | None
    causes: dict[SafeModeCause, str]  # present causes with their detail
    last_reason: str  # why it was last entered, kept after the cause clears (for the status API)


class SafeMode:
    def __init__(self, auto_exit: bool = True) -> None:
        self.auto_exit = auto_exit
        self._causes: dict[SafeModeCause, str] = {}
        self._since: int | None = None
        self._last_reason = ""

    @property
    def active(self) -> bool:
        return self._since is not None

    def enter(self, cause: SafeModeCause, detail: str, now: int) -> None:
        self._causes[cause] = detail
        self._last_reason = f"{cause.value}: {detail}"
        if self._since is None:
            self._since = now

    def cleared(self, cause: SafeModeCause) -> None:
        """The condition behind `cause` no longer holds."""
        if cause is SafeModeCause.OPERATOR:
            raise ValueError("an operator's safe mode ends with operator_exit")
        self._causes.pop(cause, None)
        if self.auto_exit and not self._causes:
            self._since = None

    def operator_exit(self) -> None:
        """End safe mode now; a cause that still holds re-enters it when next reported."""
        self._causes.clear()
        self._since = None

    def status(self) -> SafeModeStatus:
        return SafeModeStatus(self.active, self._since, dict(self._causes), self._last_reason)
