"""The wire protocol: request parsing names every problem, frames decode, and the published schemas are current."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import msgspec
import pytest

from shared.events import Side, Ticker, Trade, encode_json
from shared.protocol import (
    ErrorCode,
    Events,
    Ping,
    RequestError,
    Snapshot,
    Subscribe,
    Unsubscribe,
    decode_server_message,
    events_frame,
    parse_request,
    read_server_frame,
    snapshot_frame,
)
from shared.protocol.messages import SERVER_TYPES
from shared.protocol.schema import SERVER_MESSAGES, message_name, render, schemas

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
TICKER = Ticker("binance", "BTC-USDT", 1, 2, 10.0, 1.0, 11.0, 2.0)
TRADE = Trade("bybit", "ETH-USDT", 3, 4, "t1", Side.SELL, 5.0, 0.5)


def test_requests_parse_into_typed_messages_with_defaults() -> None:
    assert parse_request(b'{"op":"subscribe","channels":["ticker"],"id":1}') == Subscribe(channels=["ticker"], id=1)
    assert parse_request('{"op":"unsubscribe","symbols":["BTC-*"]}') == Unsubscribe(symbols=["BTC-*"])
    assert parse_request(b'{"op":"ping","id":"x"}') == Ping(id="x")
    assert Subscribe().channels == Subscribe().exchanges == Subscribe().symbols == ["*"]


@pytest.mark.parametrize(("data", "code", "named", "request_id"), [
    (b"{", ErrorCode.BAD_JSON, "truncated", None),
    (b"\xff\xfe", ErrorCode.BAD_JSON, "malformed", None),
    (b'"subscribe"', ErrorCode.BAD_REQUEST, "got a string", None),
    (b'{"id": 1}', ErrorCode.BAD_REQUEST, "missing field `op`", 1),
    (b'{"op": 3, "id": "q"}', ErrorCode.UNKNOWN_OP, "unknown op 3", "q"),
    (b'{"op": "list"}', ErrorCode.UNKNOWN_OP, "subscribe, unsubscribe, ping", None),
    (b'{"op": "subscribe", "symbols": [1], "id": 2}', ErrorCode.BAD_REQUEST, "$.symbols[0]", 2),
    (b'{"op": "subscribe", "channels": []}', ErrorCode.BAD_REQUEST, "length >= 1", None),
    (b'{"op": "ping", "id": {"a": 1}}', ErrorCode.BAD_REQUEST, "$.id", None),
    (b'{"op": "ping", "id": true}', ErrorCode.BAD_REQUEST, "$.id", None),
    (b'{"op": "ping", "verbose": 1}', ErrorCode.BAD_REQUEST, "unknown field `verbose`", None),
])
def test_bad_requests_raise_an_error_naming_the_problem(data: bytes, code: ErrorCode, named: str, request_id: object) -> None:
    with pytest.raises(RequestError) as err:
        parse_request(data)
    assert err.value.code is code
    assert named in err.value.message
    assert err.value.request_id == request_id


def test_oversize_request_is_refused_before_parsing() -> None:
    with pytest.raises(RequestError) as err:
        parse_request(b'{"op":"ping"}' + b" " * 100, max_bytes=64)
    assert err.value.code is ErrorCode.TOO_LARGE and "113 bytes exceeds the limit of 64" in err.value.message


def test_event_frames_built_from_encoded_events_decode_as_typed_messages() -> None:
    body = b",".join([encode_json(TICKER), encode_json(TRADE)])
    assert decode_server_message(events_frame(7, body)) == Events(seq=7, events=[TICKER, TRADE])
    assert decode_server_message(events_frame(8, body, coalesced=3)) == Events(seq=8, events=[TICKER, TRADE], coalesced=3)
    assert decode_server_message(events_frame(9, b"")) == Events(seq=9, events=[])
    assert decode_server_message(snapshot_frame(2, "s", True, body)) == Snapshot(seq=2, id="s", final=True, events=[TICKER, TRADE])


def test_client_reads_frame_types_it_does_not_know_as_numbered_but_empty() -> None:
    assert read_server_frame(b'{"type":"digest","seq":12,"anything":[1]}') == (12, None)
    assert read_server_frame(events_frame(3, b"")) == (3, Events(seq=3, events=[]))
    with pytest.raises(msgspec.ValidationError):
        read_server_frame(b'{"type":"events","seq":4,"events":"none"}')  # a known type, malformed


def test_known_server_types_are_exactly_the_messages() -> None:
    assert {message_name(kind) for kind in SERVER_MESSAGES} == SERVER_TYPES


def test_event_frames_match_their_schemas() -> None:
    body = b",".join([encode_json(TICKER), encode_json(TRADE)])
    for name, frame in (("events", events_frame(8, body, coalesced=3)), ("snapshot", snapshot_frame(2, None, False, body))):
        jsonschema.Draft202012Validator(json.loads((SCHEMAS / f"{name}.json").read_text())).validate(json.loads(frame))


def test_schemas_reject_what_the_protocol_forbids() -> None:
    subscribe = jsonschema.Draft202012Validator(json.loads((SCHEMAS / "subscribe.json").read_text()))
    assert subscribe.is_valid({"op": "subscribe", "channels": ["ticker"], "id": 1})
    assert not subscribe.is_valid({"op": "subscribe", "channels": "ticker"})
    assert not subscribe.is_valid({"op": "subscribe", "extra": True})
    events = jsonschema.Draft202012Validator(json.loads((SCHEMAS / "events.json").read_text()))
    assert not events.is_valid({"type": "events", "seq": 0, "events": []})
    assert not events.is_valid({"type": "events", "seq": 1, "events": [{"channel": "ticker"}]})


def test_published_schemas_are_generated_from_the_current_messages() -> None:
    generated = schemas()
    on_disk = {path.name for path in SCHEMAS.glob("*.json")}
    assert on_disk == set(generated), "run: python -m shared.protocol.schema docs/schemas"
    for name, schema in generated.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert (SCHEMAS / name).read_text() == render(schema), f"{name} is stale: run python -m shared.protocol.schema docs/schemas"
