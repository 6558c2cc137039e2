"""Raw capture: the exchange-native traffic the collector's feeds see, recorded in capture format 2.

cryptofeed reports every REST reply, websocket connect, sent and received frame to one process-wide
raw-data callback (`Connection.raw_data_callback`). `RawCapture` is that callback: it only enqueues
on the caller's thread (the event loop, or the thread constructing feeds); a writer thread encodes
and compresses into one rotated series of files per exchange (`shared.capture.CaptureWriter`).
A capture of a session replays with `spreadlake replay`, through the same parsers, to the same events.

The queue between the two is bounded in bytes (`max_buffered_bytes`, estimated per record as its
payload's length plus a fixed `RECORD_OVERHEAD`): if the writer thread falls that far behind (a
slow disk), further traffic is dropped, counted (`records_overflowed` in `stats()`, hence /health
and /metrics) and logged at most every 10 s, rather than growing the collector's memory without end.

Feed constructors fetch symbol lists (and KuCoin its websocket token) before a FeedHandler exists,
so `raw_capture()` installs the callback at once: create it before building feeds. cryptofeed's
blocking client does not say which feed a request belongs to when the feed does not pass its id
(KuCoin's token request); such a record goes to the exchange whose other requests used the same host.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptofeed.connection import Connection

from collector.overflow import OverflowCounter
from shared.capture import CaptureWriter, Connect, Header, Http, Record, Recv, Send, payload_fields

LOG = logging.getLogger(__name__)

RECORD_OVERHEAD = 256  # bytes a queued record costs besides its payload (the record object, ids, addresses)


@dataclass(frozen=True)
class _Traffic:
    uuid: str
    ts: float
    data: Any
    endpoint: str | None = None  # a REST reply from this URL
    send: str | None = None  # a frame sent to this websocket address, or a REST POST/DELETE reply from this URL
    connect: str | None = None  # a websocket connect to this address
    blocking: bool = False  # from cryptofeed's blocking HTTP client


@dataclass(frozen=True)
class _HeaderSeen:
    exchange: str
    config: str  # JSON: cryptofeed channel -> symbols
    ts: float


_Item = _Traffic | _HeaderSeen | None


class RawCapture:
    """cryptofeed's raw-data callback interface (`__call__`, `sync_callback`, `write_header`, `stop`)."""

    def __init__(self, directory: str | Path, rotate_bytes: int = 256 << 20, rotate_s: float = 3600.0,
                 clock: Callable[[], float] = time.time, max_buffered_bytes: int = 128 << 20) -> None:
        self.directory = Path(directory)
        self.rotate_bytes = rotate_bytes
        self.rotate_s = rotate_s
        self.clock = clock
        self.max_buffered_bytes = max_buffered_bytes
        self.dropped = 0  # records that could not be written (a write error, or no exchange to file them under)
        self.files: list[Path] = []
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._queued_bytes = 0
        self._queued_lock = threading.Lock()  # producers are the event loop and feed-constructing threads
        self._overflow = OverflowCounter(
            LOG, f"raw capture: queue bound (collector.capture_max_buffered_bytes, {max_buffered_bytes / 2**20:g} MiB) "
                 "reached; the capture misses traffic, records")
        self._router = _Router()
        self._writers: dict[str, CaptureWriter] = {}
        self._failed = False
        self._previous: Any = None
        self._installed = False
        self._thread = threading.Thread(target=self._drain, name="raw-capture", daemon=True)
        self._thread.start()

    # cryptofeed's interface -----------------------------------------------------

    async def __call__(self, data: Any, timestamp: float, uuid: str, endpoint: str | None = None, send: str | None = None,
                       connect: str | None = None, header: Any = None) -> None:
        self._offer(_Traffic(str(uuid), timestamp, data, endpoint, send, connect))

    def sync_callback(self, data: Any, timestamp: float, uuid: str, endpoint: str | None = None, send: str | None = None,
                      connect: str | None = None, header: Any = None) -> None:
        self._offer(_Traffic(str(uuid), timestamp, data, endpoint, send, connect, blocking=True))

    def write_header(self, uuid: str, data: str) -> None:
        self._queue.put(_HeaderSeen(str(uuid), data, self.clock()))

    def stop(self) -> None:
        """Called by FeedHandler as feeds stop; connections still close after it, so nothing ends here (see close)."""

    def _offer(self, traffic: _Traffic) -> None:
        size = traffic_bytes(traffic)
        with self._queued_lock:
            if self._queued_bytes + size > self.max_buffered_bytes:
                admitted = False
            else:
                self._queued_bytes += size
                admitted = True
        if admitted:
            self._queue.put(traffic)
        else:
            self._overflow.add()

    def stats(self) -> dict[str, Any]:
        """For /health and /metrics."""
        return {"bytes_queued": self._queued_bytes, "records_overflowed": self._overflow.total,
                "records_dropped": self.dropped, "failing": self._failed, "directory": str(self.directory)}

    # lifecycle -------------------------------------------------------------------

    def install(self) -> None:
        """Become cryptofeed's process-wide raw-data callback (FeedHandler(raw_data_collection=...) does the same)."""
        if not self._installed:
            self._previous = Connection.raw_data_callback
            Connection.raw_data_callback = self
            self._installed = True

    def close(self) -> list[Path]:
        """Stop recording, write what is queued, complete every file; returns the files written. Blocks briefly."""
        if self._installed:
            if Connection.raw_data_callback is self:
                Connection.raw_data_callback = self._previous
            self._installed = False
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        return list(self.files)

    # writer thread -------------------------------------------------------------

    def _drain(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                break
            if isinstance(item, _Traffic):
                with self._queued_lock:
                    self._queued_bytes -= traffic_bytes(item)
            try:
                if isinstance(item, _HeaderSeen):
                    self._header(item)
                else:
                    self._route(item)
            except Exception:
                self._fail()
        try:
            for exchange, records in self._router.unfiled().items():
                self._write(exchange, records)
            self.dropped += self._router.dropped
            for writer in self._writers.values():
                self.files.extend(writer.close())
        except Exception:
            self._fail()

    def _header(self, seen: _HeaderSeen) -> None:
        if seen.exchange in self._writers:
            return
        try:
            config = {str(channel): [str(s) for s in symbols] for channel, symbols in json.loads(seen.config).items()}
        except (ValueError, AttributeError, TypeError):
            LOG.warning("raw capture: %s: unreadable feed config %r; header written without it", seen.exchange, seen.config)
            config = {}
        self._writers[seen.exchange] = self._writer(Header(exchange=seen.exchange, config=config, recorded=seen.ts))
        self._write(seen.exchange, self._router.take_pending(seen.exchange))
        self._router.headed.add(seen.exchange)

    def _route(self, traffic: _Traffic) -> None:
        for exchange, records in self._router.route(traffic).items():
            self._write(exchange, records)

    def _write(self, exchange: str, records: list[Record]) -> None:
        if not records:
            return
        if self._failed:
            self.dropped += len(records)
            return
        writer = self._writers.get(exchange)
        if writer is None:  # a feed that never got a header (built without a FeedHandler)
            writer = self._writers[exchange] = self._writer(Header(exchange=exchange, recorded=self.clock()))
        writer.write_all(records)

    def _writer(self, header: Header) -> CaptureWriter:
        return CaptureWriter(self.directory, header, self.rotate_bytes, self.rotate_s, self.clock)

    def _fail(self) -> None:
        if not self._failed:
            LOG.exception("raw capture to %s failed; dropping further records (the collector goes on)", self.directory)
        self._failed = True
        self.dropped += 1


class _Router:
    """Which exchange's file a record belongs to; records wait until that exchange's header is known.

    A blocking request without a feed id is filed under the exchange that used the same host.
    """

    def __init__(self) -> None:
        self.headed: set[str] = set()
        self.dropped = 0
        self._pending: dict[str, list[Record]] = {}
        self._orphans: list[_Traffic] = []  # traffic of no known exchange yet
        self._hosts: dict[str, str] = {}

    def route(self, traffic: _Traffic) -> dict[str, list[Record]]:
        """The records now ready to write, per exchange."""
        exchange = traffic.uuid.split(".", 1)[0] if traffic.uuid not in ("", "None") else None
        host = _host(traffic)
        ready: dict[str, list[Record]] = {}
        if exchange is None:
            exchange = self._hosts.get(host) if host else None
            if exchange is None:
                self._orphans.append(traffic)
                return ready
        if host and host not in self._hosts:
            self._hosts[host] = exchange
            adopted = [t for t in self._orphans if _host(t) == host]
            self._orphans = [t for t in self._orphans if _host(t) != host]
            self._file(exchange, [to_record(t, exchange) for t in adopted], ready)
        self._file(exchange, [to_record(traffic, exchange)], ready)
        return ready

    def _file(self, exchange: str, records: list[Record], ready: dict[str, list[Record]]) -> None:
        if exchange in self.headed:
            ready.setdefault(exchange, []).extend(records)
        else:
            self._pending.setdefault(exchange, []).extend(records)

    def take_pending(self, exchange: str) -> list[Record]:
        return self._pending.pop(exchange, [])

    def unfiled(self) -> dict[str, list[Record]]:
        """At the end: records still waiting (no header came); orphans go to the only exchange, if there is one."""
        rest = dict(self._pending)
        self._pending = {}
        exchanges = set(rest) | self.headed
        if self._orphans:
            if len(exchanges) == 1:
                only = exchanges.pop()
                rest.setdefault(only, []).extend(to_record(t, only) for t in self._orphans)
            else:
                LOG.warning("raw capture: %d requests without a feed id matched no exchange's host; not written", len(self._orphans))
                self.dropped += len(self._orphans)
            self._orphans = []
        return rest


def traffic_bytes(traffic: _Traffic) -> int:
    """The memory one queued report holds, roughly: its payload's length plus a fixed overhead."""
    data = traffic.data
    return RECORD_OVERHEAD + (len(data) if isinstance(data, str | bytes | bytearray) else 0)


def _host(traffic: _Traffic) -> str:
    url = traffic.endpoint or traffic.send or traffic.connect
    return urlsplit(url).netloc if url else ""


def to_record(traffic: _Traffic, exchange: str) -> Record:
    """One cryptofeed raw-data report as a capture record (`exchange` names connections reported without a feed id)."""
    uuid = traffic.uuid if traffic.uuid not in ("", "None") else exchange
    ts = traffic.ts
    if traffic.connect is not None:
        return Connect(conn=uuid, ts=ts, addr=traffic.connect)
    if traffic.endpoint is not None:
        conn = uuid if "." in uuid else f"{uuid}.http.sync"
        # The blocking client reports GETs and POSTs alike: leave the method open.
        return Http(conn=conn, ts=ts, url=traffic.endpoint, method=None if traffic.blocking else "GET", **_text(traffic.data))
    if traffic.send is not None:
        if traffic.send.startswith(("http://", "https://")):
            # cryptofeed reports a REST POST/DELETE reply as a "send" to that URL.
            return Http(conn=uuid, ts=ts, url=traffic.send, **_text(traffic.data))
        return Send(conn=uuid, ts=ts, addr=traffic.send, **_frame(traffic.data))
    return Recv(conn=uuid, ts=ts, **_frame(traffic.data))


def _frame(data: Any) -> dict[str, str]:
    """A websocket frame keeps its kind: binary frames (compressed feeds) are stored as `b64`."""
    if isinstance(data, bytes | bytearray | memoryview):
        return payload_fields(bytes(data))
    return payload_fields("" if data is None else str(data))


def _text(data: Any) -> dict[str, str]:
    """A REST body: text where it decodes, `b64` otherwise."""
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            return payload_fields(bytes(data).decode("utf-8"))
        except UnicodeDecodeError:
            return payload_fields(bytes(data))
    return payload_fields("" if data is None else str(data))


def raw_capture(directory: str | Path, rotate_bytes: int = 256 << 20, rotate_s: float = 3600.0,
                max_buffered_bytes: int = 128 << 20) -> RawCapture:
    """A started, installed raw capture: create it before building feeds, pass it to
    `FeedHandler(raw_data_collection=...)`, and `close()` it after the feeds have stopped."""
    capture = RawCapture(directory, rotate_bytes, rotate_s, max_buffered_bytes=max_buffered_bytes)
    capture.install()
    return capture


__all__ = ["RawCapture", "raw_capture", "to_record"]
