"""The Arrow schema of each channel's files and the schema version stamped into every file.

`exchange` and `date` are not columns in the files: they come from the hive partition path, so
DuckDB (`hive_partitioning=true`) and Polars (`scan_parquet`) add them when reading the lake.
Timestamps are int64 nanoseconds since the epoch, typed timestamp[ns, UTC]. Book levels are
list<struct<price, size>> (bids best first, descending; asks best first, ascending), so
`bids[1].price` in DuckDB is the best bid. Files are sorted by (symbol, ts_recv).
"""

from __future__ import annotations

import pyarrow as pa

from shared.events import Channel

SCHEMA_VERSION = 1
VERSION_KEY = b"spreadlake.schema_version"
CHANNEL_KEY = b"spreadlake.channel"
SORT_KEYS: tuple[str, str] = ("symbol", "ts_recv")

TIMESTAMP = pa.timestamp("ns", tz="UTC")
LEVEL = pa.struct([pa.field("price", pa.float64()), pa.field("size", pa.float64())])
LEVELS = pa.list_(pa.field("item", LEVEL))
PARTITION_SCHEMA = pa.schema([pa.field("date", pa.date32()), pa.field("exchange", pa.string())])

_COMMON = [pa.field("symbol", pa.string()), pa.field("ts_event", TIMESTAMP), pa.field("ts_recv", TIMESTAMP)]

_FIELDS: dict[Channel, list[pa.Field]] = {
    Channel.TICKER: [
        pa.field("bid", pa.float64()),
        pa.field("bid_size", pa.float64()),
        pa.field("ask", pa.float64()),
        pa.field("ask_size", pa.float64()),
    ],
    Channel.TRADE: [
        pa.field("trade_id", pa.string()),
        pa.field("side", pa.string()),
        pa.field("price", pa.float64()),
        pa.field("amount", pa.float64()),
    ],
    Channel.BOOK: [
        pa.field("sequence", pa.int64()),  # null when the venue gives none
        pa.field("bids", LEVELS),
        pa.field("asks", LEVELS),
    ],
    Channel.STATUS: [
        pa.field("kind", pa.string()),
        pa.field("detail", pa.string()),
    ],  # symbol is null for a venue-wide status
}


def _schema(channel: Channel) -> pa.Schema:
    metadata = {VERSION_KEY: str(SCHEMA_VERSION).encode(), CHANNEL_KEY: channel.value.encode()}
    return pa.schema(_COMMON + _FIELDS[channel], metadata=metadata)


SCHEMAS: dict[Channel, pa.Schema] = {channel: _schema(channel) for channel in Channel}


# Parquet dictionary encoding only where values repeat a lot (names, enums). On prices, sizes and
# timestamps it costs time and, after zstd, makes files larger, not smaller (bench/lake.py).
DICTIONARY_COLUMNS: dict[Channel, tuple[str, ...]] = {
    Channel.TICKER: ("symbol",),
    Channel.TRADE: ("symbol", "side"),
    Channel.BOOK: ("symbol",),
    Channel.STATUS: ("symbol", "kind", "detail"),
}


def dictionary_columns(schema: pa.Schema) -> list[str] | bool:
    """Columns to dictionary-encode for a file of `schema`: ours by channel; pyarrow's default otherwise."""
    channel = (schema.metadata or {}).get(CHANNEL_KEY)
    try:
        return list(DICTIONARY_COLUMNS[Channel(channel.decode())]) if channel else True
    except ValueError:
        return True


class SchemaMismatch(ValueError):
    """A file was written by another schema version or for another channel."""


def schema_for(channel: Channel) -> pa.Schema:
    return SCHEMAS[channel]


def check_file_schema(channel: Channel, schema: pa.Schema, where: str) -> None:
    metadata = schema.metadata or {}
    version = metadata.get(VERSION_KEY)
    if version != str(SCHEMA_VERSION).encode():
        raise SchemaMismatch(f"{where}: schema version {version!r}, this code reads {SCHEMA_VERSION}")
    if metadata.get(CHANNEL_KEY) != channel.value.encode():
        raise SchemaMismatch(f"{where}: written for channel {metadata.get(CHANNEL_KEY)!r}, not {channel.value}")
    if not schema.remove_metadata().equals(SCHEMAS[channel].remove_metadata()):
        raise SchemaMismatch(f"{where}: columns differ from the {channel.value} schema")
