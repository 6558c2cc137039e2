"""The lake's filesystem: a local directory or an object store, through pyarrow's filesystem layer.

Every file appears atomically: it is written under `_lake/tmp/` and then moved into place. Locally
the move is a rename within one filesystem; on an object store it is a server-side copy, which
creates the final object in one step. A reader therefore never sees a partial file, and a crash
leaves at most a temporary file behind.

Durability (local roots, `lake.fsync`): a file is fsynced before its rename and its directory
after it, and every directory level created for it is made durable by fsyncing its parent, so a
file reported written survives a power cut. Deletions whose order matters (compaction's vacuum,
retention) fsync the directory with `sync_dir` before the next step. An object store has no
directories to sync: a completed copy is durable.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from shared.durable import fsync_path, make_dirs
from shared.lake.layout import TMP_DIR
from shared.lake.schema import dictionary_columns
from shared.settings.lake import LakeSettings


@dataclass(frozen=True)
class Lake:
    fs: pafs.FileSystem
    root: str  # the root's path inside `fs`: an absolute directory, or bucket/prefix
    local: bool
    fsync: bool = True

    def path(self, rel: str) -> str:
        return posixpath.join(self.root, rel) if rel else self.root

    def rel(self, path: str) -> str:
        return posixpath.relpath(path, self.root)


def open_lake(settings: LakeSettings) -> Lake:
    root = settings.root
    if root.startswith("s3://"):
        return Lake(_s3(settings), root[len("s3://") :].strip("/"), local=False, fsync=False)
    if root.startswith("file://"):
        root = urlparse(root).path
    return Lake(pafs.LocalFileSystem(), os.path.abspath(root), local=True, fsync=settings.fsync)


def _s3(settings: LakeSettings) -> pafs.S3FileSystem:
    s3 = settings.s3
    options: dict[str, object] = {}
    if s3.endpoint_url:
        url = urlparse(s3.endpoint_url)
        options["endpoint_override"] = url.netloc + url.path.rstrip("/")
        options["scheme"] = url.scheme
    if s3.region:
        options["region"] = s3.region
    if s3.access_key_id or s3.secret_access_key:
        options["access_key"] = s3.access_key_id.get_secret_value() if s3.access_key_id else None
        options["secret_key"] = s3.secret_access_key.get_secret_value() if s3.secret_access_key else None
        if s3.session_token:
            options["session_token"] = s3.session_token.get_secret_value()
    return pafs.S3FileSystem(**options)


class TempParquet:
    """A Parquet file being written under `_lake/tmp/`; `publish` moves it to its final name."""

    def __init__(self, lake: Lake, schema: pa.Schema, tmp_name: str, row_group_rows: int, zstd_level: int) -> None:
        self.lake = lake
        self.tmp_path = lake.path(f"{TMP_DIR}/{tmp_name}")
        self.row_group_rows = row_group_rows
        self.rows = 0
        ensure_dir(lake, TMP_DIR)  # on a first write it creates the lake's root, which must be durable too
        self._stream = lake.fs.open_output_stream(self.tmp_path)
        try:
            self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
                self._stream, schema, compression="zstd", compression_level=zstd_level, use_dictionary=dictionary_columns(schema)
            )
        except BaseException:
            self._writer = None
            self.discard()
            raise

    @property
    def bytes_written(self) -> int:
        """Bytes flushed so far (whole row groups), which is what a size limit can act on."""
        return int(self._stream.tell())

    def write(self, table: pa.Table) -> None:
        assert self._writer is not None
        self._writer.write_table(table, row_group_size=self.row_group_rows)
        self.rows += table.num_rows

    def publish(self, rel_dir: str, name: str) -> int:
        """Finish the file and move it to `rel_dir/name` in one step; returns its size in bytes."""
        assert self._writer is not None
        self._writer.close()
        size = self.bytes_written
        self._stream.close()
        if self.lake.local and self.lake.fsync:
            fsync_path(self.tmp_path)
        ensure_dir(self.lake, rel_dir)
        self.lake.fs.move(self.tmp_path, self.lake.path(f"{rel_dir}/{name}"))
        sync_dir(self.lake, rel_dir)
        return size

    def discard(self) -> None:
        """Give up on the file (after an error): close what is open and remove the temporary file."""
        for close in (self._writer.close if self._writer else None, self._stream.close):
            try:
                if close is not None:
                    close()
            except Exception:
                pass  # already broken (disk full, closed); the file is removed below
        delete_file(self.lake, self.lake.rel(self.tmp_path))


def write_table(lake: Lake, rel_dir: str, name: str, table: pa.Table, tmp_name: str, row_group_rows: int, zstd_level: int) -> int:
    """Write `table` as `rel_dir/name` atomically; returns the file's size in bytes."""
    sink = TempParquet(lake, table.schema, tmp_name, row_group_rows, zstd_level)
    try:
        sink.write(table)
        return sink.publish(rel_dir, name)
    except BaseException:
        sink.discard()
        raise


def write_bytes(lake: Lake, rel_path: str, data: bytes, tmp_name: str) -> None:
    """Write a small file (a compaction record) atomically."""
    tmp_path = lake.path(f"{TMP_DIR}/{tmp_name}")
    rel_dir = posixpath.dirname(rel_path)
    ensure_dir(lake, TMP_DIR)
    ensure_dir(lake, rel_dir)
    try:
        with lake.fs.open_output_stream(tmp_path) as out:
            out.write(data)
        if lake.local and lake.fsync:
            fsync_path(tmp_path)
        lake.fs.move(tmp_path, lake.path(rel_path))
        sync_dir(lake, rel_dir)
    except BaseException:
        delete_file(lake, lake.rel(tmp_path))
        raise


def read_bytes(lake: Lake, rel_path: str) -> bytes:
    with lake.fs.open_input_stream(lake.path(rel_path)) as stream:
        return bytes(stream.read())


def list_dir(lake: Lake, rel_dir: str, recursive: bool = False) -> list[pafs.FileInfo]:
    """Entries under `rel_dir` (none if it does not exist)."""
    selector = pafs.FileSelector(lake.path(rel_dir), recursive=recursive, allow_not_found=True)
    return list(lake.fs.get_file_info(selector))


def delete_file(lake: Lake, rel_path: str) -> bool:
    """Remove a file; False if it was already gone (deletions are repeated after crashes)."""
    try:
        lake.fs.delete_file(lake.path(rel_path))
    except FileNotFoundError:
        return False
    return True


def delete_dir(lake: Lake, rel_dir: str) -> bool:
    try:
        lake.fs.delete_dir(lake.path(rel_dir))
    except FileNotFoundError:
        return False
    return True


def ensure_dir(lake: Lake, rel_dir: str) -> None:
    """Create a local directory and its missing parents, each made durable (an object store has none)."""
    if lake.local:
        make_dirs(lake.path(rel_dir), sync=lake.fsync)


def sync_dir(lake: Lake, rel_dir: str) -> None:
    """Make the renames and deletions done in a local directory durable."""
    if lake.local and lake.fsync:
        fsync_path(lake.path(rel_dir))
