"""Every channel's files carry the schema version, nanosecond UTC timestamps and no partition columns."""

from __future__ import annotations

import pyarrow as pa
import pytest

from shared.events import Channel
from shared.lake.schema import CHANNEL_KEY, SCHEMA_VERSION, TIMESTAMP, VERSION_KEY, SchemaMismatch, check_file_schema, schema_for


@pytest.mark.parametrize("channel", list(Channel))
def test_schema_is_versioned_and_timestamped(channel: Channel) -> None:
    schema = schema_for(channel)
    assert schema.metadata[VERSION_KEY] == str(SCHEMA_VERSION).encode()
    assert schema.metadata[CHANNEL_KEY] == channel.value.encode()
    assert schema.field("ts_event").type == TIMESTAMP == pa.timestamp("ns", tz="UTC")
    assert schema.field("ts_recv").type == TIMESTAMP
    assert "exchange" not in schema.names and "date" not in schema.names
    assert schema.names[:3] == ["symbol", "ts_event", "ts_recv"]
    check_file_schema(channel, schema, "here")


def test_book_levels_are_lists_of_price_size_structs() -> None:
    bids = schema_for(Channel.BOOK).field("bids").type
    assert pa.types.is_list(bids)
    assert [f.name for f in bids.value_type] == ["price", "size"]


def test_file_of_another_version_or_channel_is_refused() -> None:
    trade = schema_for(Channel.TRADE)
    other_version = trade.with_metadata({VERSION_KEY: b"999", CHANNEL_KEY: b"trade"})
    with pytest.raises(SchemaMismatch, match="version"):
        check_file_schema(Channel.TRADE, other_version, "f")
    with pytest.raises(SchemaMismatch, match="channel"):
        check_file_schema(Channel.TICKER, trade, "f")
    with pytest.raises(SchemaMismatch, match="columns"):
        check_file_schema(Channel.TRADE, trade.remove(6), "f")
