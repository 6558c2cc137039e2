"""A pyarrow dataset over a snapshot's files, with `date` and `exchange` taken from the partition paths."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.dataset as ds

from shared.events import Channel
from shared.lake.layout import channel_dir
from shared.lake.manifest import DataFile
from shared.lake.schema import PARTITION_SCHEMA, schema_for
from shared.lake.storage import Lake


def full_schema(channel: Channel) -> pa.Schema:
    """The file columns followed by the partition columns, as readers see them."""
    schema = schema_for(channel)
    for field in PARTITION_SCHEMA:
        schema = schema.append(field)
    return schema


def open_dataset(lake: Lake, channel: Channel, files: Sequence[DataFile]) -> ds.Dataset:
    """The files as one dataset; the schema is given, so no file is opened until it is scanned."""
    return ds.dataset(
        [lake.path(f.rel_path) for f in files],
        schema=full_schema(channel),
        format="parquet",
        filesystem=lake.fs,
        partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
        partition_base_dir=lake.path(channel_dir(channel)),
    )
