"""The Parquet data lake's shared definitions: layout, schemas, storage, and the compaction log.

The collector writes the lake; the analyzer reads, compacts and prunes it; both use this package, and
replay-lake and the trader's backtest read it back as events (`events`).
See docs/lake.md.
"""

from shared.lake.dataset import full_schema, open_dataset
from shared.lake.events import EventSource, parse_instant, read_events, to_events
from shared.lake.layout import FileKind, FileName, Partition, day_of, day_start_ns
from shared.lake.manifest import CompactionRecord, DataFile, TxnState, snapshot
from shared.lake.schema import SCHEMA_VERSION, SchemaMismatch, check_file_schema, schema_for
from shared.lake.storage import Lake, open_lake

__all__ = [
    "SCHEMA_VERSION",
    "CompactionRecord",
    "DataFile",
    "EventSource",
    "FileKind",
    "FileName",
    "Lake",
    "Partition",
    "SchemaMismatch",
    "TxnState",
    "check_file_schema",
    "day_of",
    "day_start_ns",
    "full_schema",
    "open_dataset",
    "open_lake",
    "parse_instant",
    "read_events",
    "schema_for",
    "snapshot",
    "to_events",
]
