"""Capture format 2: recorded exchange traffic as zstd-compressed JSON Lines.

The first line of a file is a header (exchange, the feed subscription it was recorded with); every
later line is one record of what a client saw:

    {"t":"http","conn":"BYBIT.http.1","ts":1786310817.6,"url":"https://...","data":"<body>"}
    {"t":"connect","conn":"BYBIT.ws.1","ts":...,"addr":"wss://stream.bybit.com/v5/public/linear"}
    {"t":"send","conn":"BYBIT.ws.1","ts":...,"addr":"wss://...","data":"<frame the client sent>"}
    {"t":"recv","conn":"BYBIT.ws.1","ts":...,"data":"<frame the client received>"}

`ts` is the local receive time in float seconds. Binary payloads carry `b64` instead of `data`.
An `http` record may name its `method` (absent means GET; recordings made by cryptofeed's blocking
client cannot tell a POST from a GET, so replay servers answer a recorded URL for any method).
"""

from __future__ import annotations

import base64
import io
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
import zstandard

from shared.durable import fsync_path, make_dirs

FORMAT = 2
SUFFIX = ".jsonl.zst"


class CaptureError(ValueError):
    """A file that is not a readable format 2 capture; the message names the file and line."""


class Header(msgspec.Struct, frozen=True, kw_only=True, tag="header", tag_field="t"):
    format: int = FORMAT
    exchange: str  # cryptofeed's exchange id, e.g. "BINANCE"
    config: dict[str, list[str]] = {}  # cryptofeed channel -> normalized symbols subscribed when recording
    candle_interval: str | None = None
    recorded: float = 0.0  # when this file was started (float seconds UTC)


class _Payload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    conn: str
    ts: float
    data: str | None = None
    b64: str | None = None

    @property
    def payload(self) -> str | bytes:
        if self.b64 is not None:
            return base64.b64decode(self.b64)
        return self.data if self.data is not None else ""


class Http(_Payload, frozen=True, kw_only=True, tag="http", tag_field="t", omit_defaults=True):
    url: str
    method: str | None = None  # None: GET, or unknown


class Connect(msgspec.Struct, frozen=True, kw_only=True, tag="connect", tag_field="t"):
    conn: str
    ts: float
    addr: str


class Send(_Payload, frozen=True, kw_only=True, tag="send", tag_field="t", omit_defaults=True):
    addr: str | None = None


class Recv(_Payload, frozen=True, kw_only=True, tag="recv", tag_field="t", omit_defaults=True):
    pass


Record = Http | Connect | Send | Recv
Line = Header | Http | Connect | Send | Recv

_decoder = msgspec.json.Decoder(Line)
_encoder = msgspec.json.Encoder()


def payload_fields(payload: str | bytes) -> dict[str, str]:
    """`data` for text, `b64` for binary: the keyword arguments of a record carrying `payload`."""
    if isinstance(payload, bytes | bytearray | memoryview):
        return {"b64": base64.b64encode(bytes(payload)).decode("ascii")}
    return {"data": payload}


def encode_line(line: Line) -> bytes:
    return _encoder.encode(line) + b"\n"


@dataclass(frozen=True)
class Capture:
    path: Path
    header: Header
    records: list[Record]


def iter_lines(path: str | Path) -> Iterator[Line]:
    """The header, then every record, of one capture file (several concatenated zstd frames are fine)."""
    with open(path, "rb") as raw:
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        lines = io.BufferedReader(reader, buffer_size=1 << 20)
        try:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield _decode(path, number, line)
        except zstandard.ZstdError as exc:
            raise CaptureError(f"{path}: not readable as zstd: {exc}") from None


def _decode(path: str | Path, number: int, line: bytes) -> Line:
    try:
        item = _decoder.decode(line)
    except msgspec.DecodeError as exc:
        raise CaptureError(f"{path}:{number}: not a capture record: {exc}") from None
    if number == 1 and not isinstance(item, Header):
        raise CaptureError(f"{path}:1: a capture starts with a header line")
    if isinstance(item, Header) and item.format != FORMAT:
        raise CaptureError(f"{path}:{number}: capture format {item.format} (this reader knows {FORMAT})")
    return item


def read_capture(path: str | Path) -> Capture:
    path = Path(path)
    try:
        lines = iter_lines(path)
        first = next(lines, None)
        if first is None:
            raise CaptureError(f"{path}: empty capture")
        assert isinstance(first, Header)
        records = [line for line in lines if not isinstance(line, Header)]
    except OSError as exc:
        raise CaptureError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return Capture(path, first, records)


class CaptureWriter:
    """Writes one exchange's records to a series of capture files in `directory`.

    A new file (starting with the header again) begins when the current one reaches `rotate_bytes`
    compressed (checked after each record; zstd buffers up to one block, so a file may exceed it by
    up to ~128 KiB) or is `rotate_s` old. A file is written as `NAME.part` and renamed when complete,
    so a reader never sees a half-written capture; the file and then its directory are fsynced, so a
    completed file survives a power cut. Not thread-safe: one writer per thread.
    """

    def __init__(
        self,
        directory: str | Path,
        header: Header,
        rotate_bytes: int = 256 << 20,
        rotate_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
        level: int = 3,
    ) -> None:
        if rotate_bytes <= 0 or rotate_s <= 0:
            raise ValueError("rotate_bytes and rotate_s must be positive")
        self.directory = Path(directory)
        make_dirs(self.directory)
        self.header = header
        self.rotate_bytes = rotate_bytes
        self.rotate_s = rotate_s
        self.files: list[Path] = []  # completed files, oldest first
        self._clock = clock
        self._compressor = zstandard.ZstdCompressor(level=level)
        self._raw: BinaryIO | None = None
        self._stream: Any = None
        self._path: Path | None = None
        self._opened = 0.0
        self._records = 0
        self._sequence = 0

    def write(self, record: Record) -> None:
        if self._stream is None:
            self._open()
        elif self._records and self._due():
            self._finish()
            self._open()
        self._stream.write(encode_line(record))
        self._records += 1

    def write_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> list[Path]:
        """Complete the current file (if any); returns every file written."""
        if self._stream is not None:
            self._finish()
        return list(self.files)

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _due(self) -> bool:
        assert self._raw is not None
        return self._raw.tell() >= self.rotate_bytes or self._clock() - self._opened >= self.rotate_s

    def _open(self) -> None:
        now = self._clock()
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%SZ")
        self._sequence += 1
        name = f"{self.header.exchange}-{stamp}-{self._sequence:03d}{SUFFIX}"
        self._path = self.directory / name
        self._raw = open(self._path.with_name(name + ".part"), "wb")  # closed in _finish
        self._stream = self._compressor.stream_writer(self._raw, closefd=False)
        self._opened = now
        self._records = 0
        self._stream.write(encode_line(msgspec.structs.replace(self.header, recorded=now)))

    def _finish(self) -> None:
        assert self._raw is not None and self._path is not None
        self._stream.close()
        # Contents durable before the rename, the rename durable after it (see shared/durable.py).
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        self._path.with_name(self._path.name + ".part").replace(self._path)
        fsync_path(self.directory)
        self.files.append(self._path)
        self._raw = self._stream = self._path = None


def write_capture(path: str | Path, header: Header, records: Iterable[Record]) -> Path:
    """One capture file at exactly `path` (no rotation): for tools and tests that build captures."""
    path = Path(path)
    with open(path, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as stream:
        stream.write(encode_line(header))
        for record in records:
            stream.write(encode_line(record))
    return path


__all__ = [
    "FORMAT",
    "SUFFIX",
    "Capture",
    "CaptureError",
    "CaptureWriter",
    "Connect",
    "Header",
    "Http",
    "Line",
    "Record",
    "Recv",
    "Send",
    "encode_line",
    "iter_lines",
    "payload_fields",
    "read_capture",
    "write_capture",
]
