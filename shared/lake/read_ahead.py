"""The lake's events read ahead in a child process, for a consumer that keeps its own core busy.

`read_events(prefetch=True)` reads the next window on a thread, but turning Arrow rows into events
(millions of book levels an hour) holds the GIL, so the reading thread and the consumer take turns
on one core: a backtest ran 28% longer from the lake than from the same events in memory
(docs/benchmarks.md). Here a child process runs the same `read_events` and sends each window to the
parent as one msgpack frame of the `Event` union; the parent decodes it in C (msgspec) at about a
fifth of the cost of building the events from Arrow, and the child's work runs on the other core.

Frames on the child's stdout: a kind byte and a payload length, then the payload: a window of
events, the end of the range, or an error raised in the child (re-raised in the parent as itself).
The pipe is the backpressure: the child reads one window ahead (its own prefetch thread) and then
waits for the parent to take the window it holds. Closing the generator early ends the child.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

import msgspec

from shared.events import Channel, Event
from shared.lake.events import DEFAULT_WINDOW_NS, TARGET_ROWS, EventSource, read_events
from shared.lake.storage import open_lake
from shared.settings.lake import LakeSettings

__all__ = ["LakeReaderExited", "read_events_in_child"]

_HEADER = struct.Struct("<cQ")  # frame kind, payload length
_EVENTS, _END, _ERROR = b"E", b"D", b"X"
_EXIT_WAIT_S = 5.0
# The child gets the parent's import path before anything of ours is imported (a checkout run with
# its own sys.path works as an installed package does), then the request.
_CHILD = "import pickle, sys; sys.path[:0] = pickle.load(sys.stdin.buffer); from shared.lake.read_ahead import serve; serve()"


class LakeReaderExited(RuntimeError):
    """The child reading the lake ended without finishing the range or saying why."""


@dataclass(frozen=True)
class _Request:
    lake: LakeSettings
    channels: tuple[Channel, ...]
    start_ns: int | None
    end_ns: int | None
    exchanges: tuple[str, ...] | None
    width_ns: int
    target_rows: int


def read_events_in_child(
    lake: LakeSettings,
    channels: Sequence[Channel] = tuple(Channel),
    start_ns: int | None = None,
    end_ns: int | None = None,
    exchanges: Iterable[str] | None = None,
    width_ns: int = DEFAULT_WINDOW_NS,
    target_rows: int = TARGET_ROWS,
) -> Iterator[list[Event]]:
    """`read_events` over `EventSource(open_lake(lake), channels, start_ns, end_ns, exchanges)`, read in a
    child process: the same windows of the same events."""
    request = _Request(lake, tuple(channels), start_ns, end_ns, tuple(exchanges) if exchanges is not None else None, width_ns, target_rows)
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    try:
        with child.stdin:
            pickle.dump(sys.path, child.stdin)
            pickle.dump(request, child.stdin)
        decoder = msgspec.msgpack.Decoder(list[Event])
        while True:
            kind, size = _HEADER.unpack(_read(child, _HEADER.size))
            payload = _read(child, size)
            if kind == _EVENTS:
                yield decoder.decode(payload)
            elif kind == _END:
                return
            else:
                raise pickle.loads(payload)
    finally:
        child.stdout.close()  # a child still sending gets a broken pipe and exits
        try:
            child.wait(_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _read(child: subprocess.Popen[bytes], size: int) -> bytes:
    assert child.stdout is not None
    data = child.stdout.read(size)
    if len(data) < size:
        code = child.wait()
        raise LakeReaderExited(f"the lake reader process ended before the end of the range (exit code {code}); its error output says why")
    return data


def serve() -> None:
    """The child: read the request from stdin, send the frames on stdout."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not land inside a frame
    request: _Request = pickle.load(sys.stdin.buffer)
    try:
        _send_range(out, request)
        out.flush()
    except BrokenPipeError:
        pass  # the parent stopped reading: nothing more is wanted
    # The prefetch thread may be reading a window nobody will take: do not wait for it.
    os._exit(0)


def _send_range(out: IO[bytes], request: _Request) -> None:
    try:
        source = EventSource(open_lake(request.lake), request.channels, request.start_ns, request.end_ns, request.exchanges)
        encoder = msgspec.msgpack.Encoder()
        for window in read_events(source, request.width_ns, target_rows=request.target_rows):
            _send(out, _EVENTS, encoder.encode(window))
    except BrokenPipeError:
        raise
    except Exception as exc:  # every failure goes to the parent, which raises it
        _send(out, _ERROR, _pickled(exc))
        return
    _send(out, _END, b"")


def _send(out: IO[bytes], kind: bytes, payload: bytes) -> None:
    out.write(_HEADER.pack(kind, len(payload)))
    out.write(payload)


def _pickled(exc: Exception) -> bytes:
    try:
        data = pickle.dumps(exc)
        pickle.loads(data)
        return data
    except Exception:  # an exception that does not survive pickling goes as its text
        return pickle.dumps(LakeReaderExited(f"the lake reader failed: {type(exc).__name__}: {exc}"))
