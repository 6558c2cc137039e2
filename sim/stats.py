"""What each simulated venue did: frames sent, REST calls, connections, and the ids it emitted.

The id records keep the most recent `RECORD_LIMIT` entries, enough for tests and diagnostics
without growing without bound in a long-running simulator.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

RECORD_LIMIT = 200_000


@dataclass
class VenueStats:
    sent: Counter[str] = field(default_factory=Counter)  # frames written, by channel ("book", "trade", "ticker", "control")
    rest_calls: Counter[str] = field(default_factory=Counter)  # by route name, errors included
    rest_errors: int = 0  # injected HTTP 500s
    ws_accepted: int = 0  # websocket connections accepted since start
    ws_open: int = 0
    drops: int = 0  # injected connection cuts (each cuts every open connection)
    stalls: int = 0
    slow_consumers: int = 0  # connections cut because their send queue overflowed
    # (symbol, trade id as on the wire), in emission order
    trade_ids: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=RECORD_LIMIT))
    # (symbol, first, last) sequence numbers as clients check them, in emission order
    book_ids: deque[tuple[str, int, int]] = field(default_factory=lambda: deque(maxlen=RECORD_LIMIT))
    # book updates withheld by the skip_sequence_every fault: gaps clients should detect
    skipped_book_ids: deque[tuple[str, int, int]] = field(default_factory=lambda: deque(maxlen=RECORD_LIMIT))

    def copy(self) -> VenueStats:
        # The records hold immutable tuples: copying the containers is enough.
        return VenueStats(
            Counter(self.sent), Counter(self.rest_calls), self.rest_errors, self.ws_accepted, self.ws_open,
            self.drops, self.stalls, self.slow_consumers,
            deque(self.trade_ids, maxlen=RECORD_LIMIT), deque(self.book_ids, maxlen=RECORD_LIMIT),
            deque(self.skipped_book_ids, maxlen=RECORD_LIMIT),
        )
