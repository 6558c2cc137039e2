"""One exchange's recorded traffic, indexed for serving: REST answers by URL, websocket scripts by path.

Pure and synchronous: the servers in this package only look things up here. Nothing is specific to
an exchange: a REST answer is found by the recorded URL's path and query, a websocket connection by
the path of its recorded connect address (its host and query, e.g. a one-off token, do not matter).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from shared.capture import Capture, Connect, Header, Http, Record, Recv, Send, read_capture

Query = tuple[tuple[str, str], ...]


def query_key(query: str) -> Query:
    """Query parameters in a canonical order, blanks dropped (`?&category=spot` equals `?category=spot`)."""
    return tuple(sorted(parse_qsl(query, keep_blank_values=False)))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Step:
    """One recorded websocket event: a frame the server sent (`recv`) or the client sent (`send`)."""

    kind: Literal["send", "recv"]
    ts: float
    payload: str | bytes


@dataclass
class Script:
    """One recorded websocket connection, played to one client connection at a time.

    `position` survives a disconnect: a client that reconnects on the same path resumes where the
    previous connection stopped, so each recorded frame is delivered once.
    """

    conn: str
    path: str
    query: Query
    opened: float  # recorded connect time
    steps: tuple[Step, ...]
    position: int = 0
    in_use: bool = False

    @property
    def finished(self) -> bool:
        return self.position >= len(self.steps)

    @property
    def frames(self) -> int:
        return sum(1 for step in self.steps if step.kind == "recv")


@dataclass
class _Answer:
    method: str | None  # None: recorded without a method, serve it for any
    query: Query
    bodies: list[str | bytes]
    served: int = 0

    def next_body(self) -> str | bytes:
        """Repeated requests get the recorded answers in order, then the last one again."""
        body = self.bodies[min(self.served, len(self.bodies) - 1)]
        self.served += 1
        return body


@dataclass
class Recording:
    header: Header
    sources: tuple[Path, ...]
    answers: dict[str, list[_Answer]] = field(default_factory=dict)  # by URL path
    scripts: list[Script] = field(default_factory=list)
    ws_origins: tuple[str, ...] = ()  # recorded wss://host:port of every connection, newest last

    @property
    def exchange(self) -> str:
        """The collector's (lower case) name for the recorded exchange."""
        return self.header.exchange.lower()

    # REST -----------------------------------------------------------------

    def answer(self, method: str, path: str, query: str) -> str | bytes | None:
        """The recorded body for a request, or None when nothing recorded matches it.

        Exact path and query (in any order) first; otherwise, among the recorded queries of that
        path, the one sharing most parameters with the request, if exactly one shares most.
        """
        candidates = [a for a in self.answers.get(path, ()) if a.method is None or a.method == method.upper()]
        if not candidates:
            return None
        wanted = query_key(query)
        for candidate in candidates:
            if candidate.query == wanted:
                return candidate.next_body()
        scores = [(len(set(wanted) & set(c.query)), c) for c in candidates]
        best = max(score for score, _ in scores)
        winners = [c for score, c in scores if score == best]
        if len(winners) == 1 and (best > 0 or not wanted):
            return winners[0].next_body()
        return None

    # websocket --------------------------------------------------------------

    def knows_path(self, path: str) -> bool:
        return any(script.path == path for script in self.scripts)

    def busy(self, path: str) -> bool:
        """A connection on `path` is still playing an unfinished script (its client may be reconnecting)."""
        return any(s.path == path and s.in_use and not s.finished for s in self.scripts)

    def claim(self, path: str, query: str) -> Script | None:
        """The next unfinished, unused script recorded on `path` (same query preferred), marked in use."""
        free = [s for s in self.scripts if s.path == path and not s.in_use and not s.finished]
        if not free:
            return None
        wanted = query_key(query)
        script = next((s for s in free if s.query == wanted), free[0])
        script.in_use = True
        return script

    @property
    def finished(self) -> bool:
        return all(script.finished for script in self.scripts)


def recording_from(captures: Sequence[Capture]) -> Recording:
    """One recording from one or more captures of the same exchange (rotated files, in order)."""
    if not captures:
        raise ValueError("no capture given")
    exchanges = {c.header.exchange.upper() for c in captures}
    if len(exchanges) != 1:
        raise ValueError(f"captures of several exchanges cannot form one recording: {sorted(exchanges)}")
    recording = Recording(header=captures[0].header, sources=tuple(c.path for c in captures))
    _index(recording, (record for capture in captures for record in capture.records))
    return recording


def _index(recording: Recording, records: Iterable[Record]) -> None:
    answers: dict[tuple[str, str | None, Query], _Answer] = {}
    # cryptofeed reconnects under the same connection id: each connect starts a new script.
    current: dict[str, tuple[Connect, list[Step]]] = {}
    scripts: list[tuple[Connect, list[Step]]] = []
    for record in records:
        if isinstance(record, Http):
            parts = urlsplit(record.url)
            method = record.method.upper() if record.method else None
            key = (parts.path, method, query_key(parts.query))
            if key not in answers:
                answers[key] = _Answer(method, key[2], [])
                recording.answers.setdefault(parts.path, []).append(answers[key])
            answers[key].bodies.append(record.payload)
        elif isinstance(record, Connect):
            current[record.conn] = (record, [])
            scripts.append(current[record.conn])
        elif isinstance(record, Send | Recv) and record.conn in current:
            current[record.conn][1].append(Step("send" if isinstance(record, Send) else "recv", record.ts, record.payload))
    origins: list[str] = []
    for connect, steps in scripts:
        parts = urlsplit(connect.addr)
        recording.scripts.append(Script(connect.conn, parts.path or "/", query_key(parts.query), connect.ts, tuple(steps)))
        if origin(connect.addr) not in origins:
            origins.append(origin(connect.addr))
    recording.ws_origins = tuple(origins)


def load_recordings(paths: Iterable[str | Path]) -> list[Recording]:
    """Read capture files; files of the same exchange (e.g. rotated parts) join in file-name order."""
    by_exchange: dict[str, list[Capture]] = defaultdict(list)
    for path in sorted(Path(p) for p in paths):
        capture = read_capture(path)
        by_exchange[capture.header.exchange.upper()].append(capture)
    return [recording_from(captures) for captures in by_exchange.values()]


__all__ = ["Recording", "Script", "Step", "load_recordings", "origin", "query_key", "recording_from"]
