"""Capture format 2: what is written reads back the same; bad files fail with the file and line named."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
import zstandard

from shared.capture import (
    CaptureError,
    CaptureWriter,
    Connect,
    Header,
    Http,
    Record,
    Recv,
    Send,
    encode_line,
    payload_fields,
    read_capture,
    write_capture,
)

HEADER = Header(exchange="BYBIT", config={"trades": ["BTC-USDT"], "l2_book": ["BTC-USDT-PERP"]}, recorded=1786310817.6)
RECORDS: list[Record] = [
    Http(conn="BYBIT.http.1", ts=1.0, url="https://api.bybit.com/v5/market/instruments-info?category=spot", data='{"retCode":0}'),
    Http(conn="BYBIT.http.sync", ts=1.5, url="https://api.kucoin.com/api/v1/bullet-public", method="POST", data="{}"),
    Connect(conn="BYBIT.ws.2", ts=2.0, addr="wss://stream.bybit.com/v5/public/spot"),
    Send(conn="BYBIT.ws.2", ts=2.1, addr="wss://stream.bybit.com/v5/public/spot", data='{"op":"subscribe"}'),
    Recv(conn="BYBIT.ws.2", ts=2.2, data='{"topic":"publicTrade.BTCUSDT"}'),
    Recv(conn="BYBIT.ws.2", ts=2.3, **payload_fields(b"\x1f\x8b\x00binary")),
]


def test_written_capture_reads_back_identical(tmp_path: Path) -> None:
    path = write_capture(tmp_path / "BYBIT.jsonl.zst", HEADER, RECORDS)
    capture = read_capture(path)
    assert capture.header == HEADER
    assert capture.records == RECORDS
    assert capture.records[-1].payload == b"\x1f\x8b\x00binary"  # type: ignore[union-attr]
    assert capture.records[4].payload == '{"topic":"publicTrade.BTCUSDT"}'  # type: ignore[union-attr]


def test_lines_follow_the_documented_layout() -> None:
    assert encode_line(HEADER).startswith(b'{"t":"header","format":2,"exchange":"BYBIT","config":')
    assert encode_line(RECORDS[4]) == b'{"t":"recv","conn":"BYBIT.ws.2","ts":2.2,"data":"{\\"topic\\":\\"publicTrade.BTCUSDT\\"}"}\n'
    binary = encode_line(RECORDS[5])
    assert b'"b64":"' + base64.b64encode(b"\x1f\x8b\x00binary") + b'"' in binary and b'"data"' not in binary
    assert b'"method"' not in encode_line(RECORDS[0]), "absent fields are left out, not written as null"


def test_cryptofeed_recordings_with_extra_header_keys_are_read(tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(
        b'{"t":"header","format":2,"exchange":"GATEIO","config":{"ticker":["BTC-USDT"]},"candle_interval":null,'
        b'"recorded":1619093531.8,"converted_from":1}\n'
        b'{"t":"connect","conn":"GATEIO.ws.1","addr":"wss://api.gateio.ws/ws/v4/","ts":1619093531.9}\n'))
    capture = read_capture(path)
    assert capture.header.exchange == "GATEIO" and capture.header.config == {"ticker": ["BTC-USDT"]}
    assert capture.records == [Connect(conn="GATEIO.ws.1", ts=1619093531.9, addr="wss://api.gateio.ws/ws/v4/")]


def test_concatenated_zstd_frames_read_as_one_capture(tmp_path: Path) -> None:
    path = tmp_path / "joined.jsonl.zst"
    first = zstandard.ZstdCompressor().compress(encode_line(HEADER) + encode_line(RECORDS[0]))
    second = zstandard.ZstdCompressor().compress(encode_line(RECORDS[2]))
    path.write_bytes(first + second)
    assert read_capture(path).records == [RECORDS[0], RECORDS[2]]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (encode_line(RECORDS[0]), ":1: a capture starts with a header line"),
        (b'{"t":"header","format":1,"exchange":"X"}\n', ":1: capture format 1"),
        (encode_line(HEADER) + b'{"t":"recv","conn":"X"}\n', ":2: not a capture record"),
        (encode_line(HEADER) + b'{"t":"bogus","conn":"X","ts":1}\n', ":2: not a capture record"),
        (b"", "empty capture"),
    ],
)
def test_bad_captures_name_the_file_and_line(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "bad.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(content))
    with pytest.raises(CaptureError, match=problem):
        read_capture(path)


def test_files_that_are_not_zstd_or_missing_are_capture_errors(tmp_path: Path) -> None:
    plain = tmp_path / "plain.jsonl.zst"
    plain.write_bytes(encode_line(HEADER))
    with pytest.raises(CaptureError, match="not readable as zstd"):
        read_capture(plain)
    with pytest.raises(CaptureError, match="cannot read"):
        read_capture(tmp_path / "absent.jsonl.zst")


def test_writer_rotates_on_age_and_each_file_starts_with_the_header(tmp_path: Path) -> None:
    now = [100.0]
    writer = CaptureWriter(tmp_path, HEADER, rotate_s=10.0, clock=lambda: now[0])
    for ts in (100.0, 105.0, 111.0, 112.0, 125.0):
        now[0] = ts
        writer.write(Recv(conn="BYBIT.ws.1", ts=ts, data=str(ts)))
    files = writer.close()
    assert [len(read_capture(f).records) for f in files] == [2, 2, 1]
    assert [read_capture(f).header.recorded for f in files] == [100.0, 111.0, 125.0]
    assert all(read_capture(f).header.config == HEADER.config for f in files)
    assert files == sorted(files), "file names sort in recording order"
    assert sorted(tmp_path.iterdir()) == files, "no .part file is left behind"


def test_writer_rotates_on_compressed_size(tmp_path: Path) -> None:
    records = [Recv(conn="BYBIT.ws.1", ts=float(i), **payload_fields(os.urandom(20_000))) for i in range(60)]  # ~1.6 MB, incompressible
    with CaptureWriter(tmp_path, HEADER, rotate_bytes=300_000) as writer:
        writer.write_all(records)
    files = writer.files
    assert len(files) >= 3
    # zstd hands out compressed output in blocks of up to 128 KiB: a file overshoots by at most about that.
    assert all(f.stat().st_size < 300_000 + 200_000 for f in files)
    assert [r for f in files for r in read_capture(f).records] == records


def test_a_file_being_written_is_hidden_until_complete(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, HEADER)
    writer.write(RECORDS[0])
    [partial] = list(tmp_path.iterdir())
    assert partial.name.endswith(".jsonl.zst.part") and partial.name.startswith("BYBIT-")
    [done] = writer.close()
    assert list(tmp_path.iterdir()) == [done] and done.name.endswith(".jsonl.zst")
    assert read_capture(done).records == [RECORDS[0]]
    assert writer.close() == [done], "closing twice is harmless"


def test_writer_refuses_limits_that_would_never_rotate_sanely(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        CaptureWriter(tmp_path, HEADER, rotate_bytes=0)
