"""Bytes <-> protocol messages, with errors that name the problem.

Server side: `parse_request` turns one client message into a typed request or raises `RequestError`
(code, message, and the request's id when it could be read). Event frames are assembled from
already-encoded event JSON (`events_frame`, `snapshot_frame`): each event is encoded once by the
server and the same bytes go to every client. Client side: `decode_server_message`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from shared.protocol.messages import REQUEST_TYPES, SERVER_TYPES, ErrorCode, Request, RequestId, ServerMessage

_encoder = msgspec.json.Encoder()
_any_decoder = msgspec.json.Decoder()
_server_decoder = msgspec.json.Decoder(ServerMessage)


class _Envelope(msgspec.Struct):
    type: str
    seq: int


_envelope_decoder = msgspec.json.Decoder(_Envelope)


class RequestError(ValueError):
    def __init__(self, code: ErrorCode, message: str, request_id: RequestId = None) -> None:
        self.code = code
        self.message = message
        self.request_id = request_id
        super().__init__(f"{code.value}: {message}")


def parse_request(data: bytes | str, max_bytes: int | None = None) -> Request:
    if max_bytes is not None and len(data) > max_bytes:
        raise RequestError(ErrorCode.TOO_LARGE, f"request of {len(data)} bytes exceeds the limit of {max_bytes} bytes")
    try:
        raw = _any_decoder.decode(data)
    except msgspec.DecodeError as exc:
        raise RequestError(ErrorCode.BAD_JSON, f"not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise RequestError(ErrorCode.BAD_REQUEST, f"a request must be a JSON object, got {_json_type(raw)}")
    request_id = _request_id(raw.get("id"))
    op = raw.get("op")
    if op is None:
        raise RequestError(ErrorCode.BAD_REQUEST, "missing field `op`", request_id)
    kind = REQUEST_TYPES.get(op) if isinstance(op, str) else None
    if kind is None:
        raise RequestError(ErrorCode.UNKNOWN_OP, f"unknown op {op!r} (choose from {', '.join(REQUEST_TYPES)})", request_id)
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        raise RequestError(ErrorCode.BAD_REQUEST, f"{op}: {exc}", request_id) from None


def _request_id(value: Any) -> RequestId:
    """The id to echo in an error reply: only a well-formed one (an int or a short string)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) or (isinstance(value, str) and len(value) <= 64):
        return value
    return None


def _json_type(value: Any) -> str:
    return {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(type(value), "null")


def encode(message: Any) -> bytes:
    return _encoder.encode(message)


def events_frame(seq: int, body: bytes, coalesced: int = 0) -> bytes:
    """An `events` frame around `body`: already-encoded events joined by commas."""
    if coalesced:
        return b'{"type":"events","seq":%d,"coalesced":%d,"events":[%b]}' % (seq, coalesced, body)
    return b'{"type":"events","seq":%d,"events":[%b]}' % (seq, body)


def snapshot_frame(seq: int, request_id: RequestId, final: bool, body: bytes) -> bytes:
    return b'{"type":"snapshot","seq":%d,"id":%b,"final":%b,"events":[%b]}' % (
        seq, _encoder.encode(request_id), b"true" if final else b"false", body)


def decode_server_message(data: bytes | str) -> ServerMessage:
    return _server_decoder.decode(data)


def read_server_frame(data: bytes | str) -> tuple[int, ServerMessage | None]:
    """(seq, message) for a client; message is None for a frame type this version does not know.

    Newer servers may add frame types within a protocol version; a client numbers them and moves on.
    A malformed frame of a known type still raises msgspec.ValidationError.
    """
    try:
        message = _server_decoder.decode(data)
    except msgspec.ValidationError:
        envelope = _envelope_decoder.decode(data)
        if envelope.type in SERVER_TYPES:
            raise
        return envelope.seq, None
    return message.seq, message
