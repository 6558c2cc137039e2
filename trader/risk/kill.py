"""The kill switch's state. Engaged, it stops new positions at once: a proposal decided after it (even one
made before it) is denied, and an approval given before it is withdrawn before it is sent. Hedges of
arbitrages already under way still go, since a one-legged arbitrage is the loss this trader exists to
avoid; unwinding orders go only when the operator asked to flatten."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class KillSwitch:
    engaged_at: int | None = None
    reason: str = ""
    flatten: bool = False  # the operator asked to flatten positions with market orders (under the limits)

    @property
    def engaged(self) -> bool:
        return self.engaged_at is not None

    def engage(self, now: int, reason: str, flatten: bool = False) -> None:
        if self.engaged_at is None:
            self.engaged_at = now
        self.reason = reason
        self.flatten = self.flatten or flatten

    def release(self) -> None:
        self.engaged_at = None
        self.reason = ""
        self.flatten = False
