"""The risk manager's log line per decision, thinned for a person watching: the first per (instance,
verdict, reason) every window, then the next with how many like it were held back since.

Every decision is journaled with its reason (trader/journal); the log is the live view of them. A
limit-then-hedge instance decides several times a second, and a log record built for each of them (to
be dropped by a filter) cost 50-100 us on the path of an order (docs/benchmarks.md, "Trader"): here the
held-back decisions build no record at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from shared.trading import Decision, Verdict

WINDOW_S = 10.0


class DecisionLog:
    def __init__(self, logger: logging.Logger, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self._window = window_s
        self._clock = clock
        self._seen: dict[tuple[str, Verdict, str], tuple[float, int]] = {}  # -> (last shown, held back since)

    def __call__(self, decision: Decision) -> None:
        level = logging.INFO if decision.verdict is not Verdict.DENIED else logging.WARNING
        if not self._logger.isEnabledFor(level):
            return
        key = (decision.instance_id, decision.verdict, decision.reason.value)
        now = self._clock()
        shown, held = self._seen.get(key, (float("-inf"), 0))
        if now - shown < self._window:
            self._seen[key] = (shown, held + 1)
            return
        self._seen[key] = (now, 0)
        since = f" ({held} more like it in the last {now - shown:.0f} s)" if held else ""
        self._logger.log(level, "proposal %s (%s) %s: %s: %s%s", decision.proposal_id, decision.instance_id, decision.verdict.value,
                         decision.reason.value, decision.detail, since)
