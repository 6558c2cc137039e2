"""One exchange's recorded traffic, indexed for serving: REST answers by URL, websocket scripts by
path and subscription.

Pure and synchronous: the servers in this package only look things up here. Nothing is specific to
an exchange: a REST answer is found by the recorded URL's path and query; a websocket connection by
the path of its recorded connect address and by what was subscribed on it, read as a set of words
from its URL query (Binance's `?streams=btcusdt@depth/...`) and the frames the recorded client sent
(`{"op":"subscribe","args":["orderbook.200.BTCUSDT"]}`). A one-off token in the query matches nothing.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from shared.capture import Capture, Connect, Header, Http, Record, Recv, Send, read_capture

Query = tuple[tuple[str, str], ...]


def query_key(query: str) -> Query:
    """Query parameters in a canonical order, blanks dropped (`?&category=spot` equals `?category=spot`)."""
    return tuple(sorted(parse_qsl(query, keep_blank_values=False)))


_WORD = re.compile(r"[a-z0-9_-]+")
_NUMBER = re.compile(r"-?[0-9]+")


def words(payload: str | bytes) -> frozenset[str]:
    """The words of a frame, lower case, numbers left out (ids and timestamps differ between runs):
    `{"sub":"market.btcusdt.depth.step0","id":1}` -> {sub, market, btcusdt, depth, step0, id}."""
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    return frozenset(w for w in _WORD.findall(text.lower()) if not _NUMBER.fullmatch(w))


def query_words(query: str) -> frozenset[str]:
    """The words of a URL query's values (its keys say nothing about what is subscribed)."""
    return frozenset().union(*(words(value) for _, value in parse_qsl(query)))


def subscription_words(payload: str | bytes) -> frozenset[str]:
    """What a frame a client sent subscribes, as words: those of its JSON string values (keys such as
    `op` or `Data` name nothing, and would match every frame), or of its whole text if not JSON."""
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    try:
        parsed = json.loads(text)
    except ValueError:
        return words(text)
    return frozenset().union(*(words(value) for value in _strings(parsed)))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Step:
    """One recorded websocket event: a frame the server sent (`recv`) or the client sent (`send`)."""

    kind: Literal["send", "recv"]
    ts: float
    payload: str | bytes


@dataclass(eq=False)
class Script:
    """One recorded websocket connection, played to the client connections that subscribed to it.

    `position` survives a disconnect: a client that reconnects on the same path resumes where the
    previous connection stopped, so each recorded frame is delivered once.
    """

    conn: str
    path: str
    query: Query
    opened: float  # recorded connect time
    steps: tuple[Step, ...]
    words: frozenset[str] = frozenset()  # what the recorded client subscribed: its query values and sent frames
    url_words: frozenset[str] = frozenset()  # the part in the URL query
    frame_words: frozenset[str] = frozenset()  # the part in the frames it sent
    position: int = 0
    in_use: bool = False  # being played
    claimed: bool = False  # ever played to a client
    sent: int = 0  # recorded frames sent to clients
    withheld: int = 0  # recorded frames skipped: they carried only what no client subscribed

    def describe(self) -> str:
        return f"{self.conn} on {self.path} ({self.frames} frames)"

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

    def choose(
        self,
        path: str,
        wanted: frozenset[str],
        mine: Collection[Script] = (),
        taken: Mapping[Script, frozenset[str]] | None = None,
        guess: bool = False,
    ) -> list[Script]:
        """The recorded connections on `path` to play to a client that subscribed `wanted` (the words of
        its query and frames), besides `mine`, those it already plays.

        Greedy cover of its words by the unfinished scripts, most words first. Where a path has several
        scripts, only words that tell them apart count (not `subscribe`, nor a symbol all of them
        carry). A script other clients play (`taken`: script -> their words) is shared only for words
        none of them subscribed: a client that spreads its subscriptions over its connections unlike
        the recorded client did still gets what it subscribed. With `guess`, a client whose words
        choose nothing gets the first free script (file order), as a client that sends no subscription does.
        """
        taken = taken or {}
        on_path = [s for s in self.scripts if s.path == path]
        if not on_path:
            return []
        common = frozenset.intersection(*(s.words for s in on_path)) if len(on_path) > 1 else frozenset()
        uncovered = wanted - frozenset().union(*(s.words for s in mine))
        uncovered &= frozenset().union(*(s.words for s in on_path))
        candidates = [s for s in on_path if not s.finished and s not in mine]
        chosen: list[Script] = []
        while uncovered:
            best: tuple[int, int, Script] | None = None
            for script in candidates:
                gain = uncovered & script.words
                if script in chosen or not gain - common:
                    continue
                if script.in_use and not gain - common - taken.get(script, frozenset()):
                    continue
                if best is None or (len(gain - common), len(gain)) > best[:2]:
                    best = (len(gain - common), len(gain), script)
            if best is None:
                break
            chosen.append(best[2])
            uncovered -= best[2].words
        if not chosen and not mine and guess:
            chosen = [s for s in candidates if not s.in_use][:1]
        return chosen

    def sole(self, path: str) -> Script | None:
        """The one script left to play on `path`, if exactly one is and it is free: nothing to choose from."""
        left = [s for s in self.scripts if s.path == path and not s.finished]
        return left[0] if len(left) == 1 and not left[0].in_use else None

    def unplayed(self) -> list[Script]:
        """Recorded connections never played to any client (nobody subscribed to what they carry)."""
        return [s for s in self.scripts if not s.claimed and s.steps]

    @property
    def finished(self) -> bool:
        return all(script.finished for script in self.scripts)

    def rewind(self) -> None:
        """Serve the recording again from its start (REST answers and websocket connections)."""
        for script in self.scripts:
            script.position, script.claimed, script.sent, script.withheld = 0, False, 0, 0
        for answers in self.answers.values():
            for answer in answers:
                answer.served = 0


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
        in_url = query_words(parts.query)
        in_frames = frozenset().union(*(subscription_words(step.payload) for step in steps if step.kind == "send"))
        recording.scripts.append(Script(connect.conn, parts.path or "/", query_key(parts.query), connect.ts, tuple(steps),
                                        in_url | in_frames, in_url, in_frames))
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


__all__ = ["Recording", "Script", "Step", "load_recordings", "origin", "query_key", "query_words", "recording_from",
           "subscription_words", "words"]
