"""Files appear whole or not at all; roots are local directories or s3://bucket/prefix."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from shared.lake.layout import TMP_DIR
from shared.lake.storage import TempParquet, list_dir, open_lake, read_bytes, write_bytes, write_table
from shared.settings.lake import LakeSettings, S3Settings
from tests.fsyncs import dir_synced_with, record_fsyncs

TABLE = pa.table({"a": list(range(1000))})


def test_local_root_is_an_absolute_directory(tmp_path: Path) -> None:
    lake = open_lake(LakeSettings(root=str(tmp_path / "lake")))
    assert lake.local and lake.root == str(tmp_path / "lake") and lake.fsync
    assert open_lake(LakeSettings(root=f"file://{tmp_path}")).root == str(tmp_path)


def test_s3_root_uses_the_endpoint_and_credentials() -> None:
    settings = LakeSettings(
        root="s3://bucket/some/prefix/",
        s3=S3Settings(endpoint_url="http://127.0.0.1:9", region="eu-west-1", access_key_id="k", secret_access_key="s"),
    )
    lake = open_lake(settings)
    assert not lake.local and lake.root == "bucket/some/prefix"
    assert isinstance(lake.fs, pafs.S3FileSystem) and lake.fs.region == "eu-west-1"


def test_table_is_moved_into_place_and_temporary_file_is_gone(tmp_path: Path) -> None:
    lake = open_lake(LakeSettings(root=str(tmp_path)))
    size = write_table(lake, "d/e", "f.parquet", TABLE, "f.tmp", 100, 1)
    assert size == (tmp_path / "d/e/f.parquet").stat().st_size
    assert pq.read_table(tmp_path / "d/e/f.parquet").equals(TABLE)
    assert pq.ParquetFile(tmp_path / "d/e/f.parquet").metadata.num_row_groups == 10
    assert list_dir(lake, TMP_DIR) == []


def test_failed_write_leaves_no_file_anywhere(tmp_path: Path) -> None:
    lake = open_lake(LakeSettings(root=str(tmp_path)))
    (tmp_path / "blocked").write_text("a file where the partition directory should be")
    with pytest.raises(OSError):
        write_table(lake, "blocked/e", "f.parquet", TABLE, "f.tmp", 100, 1)
    assert list_dir(lake, TMP_DIR) == []
    sink = TempParquet(lake, TABLE.schema, "g.tmp", 100, 1)
    sink.write(TABLE)
    sink.discard()
    assert list_dir(lake, TMP_DIR) == []


def test_small_files_round_trip(tmp_path: Path) -> None:
    lake = open_lake(LakeSettings(root=str(tmp_path)))
    write_bytes(lake, "x/y.json", b"{}", "y.tmp")
    assert read_bytes(lake, "x/y.json") == b"{}"
    assert list_dir(lake, TMP_DIR) == []


def test_a_small_file_is_durable_with_its_name_and_every_directory_level_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "lake"
    synced = record_fsyncs(monkeypatch)
    write_bytes(open_lake(LakeSettings(root=str(root))), "_lake/txn/trade/t1.commit.json", b"{}", "r-t1.commit.tmp")
    record = root / "_lake/txn/trade/t1.commit.json"
    assert root / TMP_DIR / "r-t1.commit.tmp" in [s.path for s in synced]
    for entry in (record, record.parent, record.parent.parent, root / "_lake", root):
        assert dir_synced_with(synced, entry), f"{entry.name} is not durable in {entry.parent}"

