"""``gs://`` inputs against gcp-storage-emulator (a GCS API emulator from PyPI, in this
process, on 127.0.0.1): a partitioned prefix of JSONL and Parquet read through gcsfs,
pruning counted as the objects opened, and missing objects as one line.

The emulator is a stub of the JSON API, not Google's service: it checks that genailog's
gcsfs path lists, reads and prunes, not every behaviour of the real store. Needs gcsfs and
gcp-storage-emulator (the test extra); skipped with the reason when missing, failed under
GENAILOG_REQUIRE_ALL=1.
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from conftest import require_or_skip

from genailog.errors import InputError
from genailog.ingest import read_logs
from genailog.query.prune import partition_prune

DAYS = ("2026-11-28", "2026-11-29")


#: Every test reads as a new process with the cache off (conftest.fresh_remote_reads).
pytestmark = pytest.mark.usefixtures("fresh_remote_reads")



def _records(day: str, hour: int) -> list[dict[str, Any]]:
    return [{"timestamp": f"{day}T{hour:02d}:0{i}:00Z", "model": "m", "input_tokens": hour,
             "output_tokens": i} for i in range(3)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def gcs() -> Iterator[None]:
    try:
        import gcsfs
        from gcp_storage_emulator.server import create_server
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage
    except ImportError as exc:
        require_or_skip(f"gcsfs and gcp-storage-emulator are needed for the gs:// tests: "
                        f"{exc}")
    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket="logs")
    server.start()
    patch = pytest.MonkeyPatch()
    patch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    gcsfs.GCSFileSystem.clear_instance_cache()
    bucket = storage.Client(credentials=AnonymousCredentials(), project="test").bucket("logs")
    for day in DAYS:
        for hour in (1, 13):
            records = _records(day, hour)
            prefix = f"prod/date={day}/hour={hour}"
            bucket.blob(f"{prefix}/part-0.jsonl").upload_from_string(
                "".join(json.dumps(r) + "\n" for r in records))
            buffer = io.BytesIO()
            pl.DataFrame(records).with_columns(pl.col("timestamp").str.to_datetime(
                time_zone="UTC")).write_parquet(buffer)
            bucket.blob(f"{prefix}/part-1.parquet").upload_from_string(buffer.getvalue())
    try:
        yield
    finally:
        patch.undo()
        gcsfs.GCSFileSystem.clear_instance_cache()
        server.stop()


def test_reads_a_partitioned_bucket_prefix(gcs: None) -> None:
    frame = read_logs("gs://logs/prod/").collect()
    assert frame.height == 2 * 2 * 2 * 3  # days x hours x (JSONL, Parquet) x records
    assert frame["input_tokens"].to_list() == frame["hour"].to_list()
    assert sorted(frame["date"].unique().to_list()) == list(DAYS)


def test_where_opens_only_the_selected_partitions(gcs: None, opened_objects: list[str]) -> None:
    logs = read_logs("gs://logs/prod/", prune=partition_prune(
        where="hour = 1 AND date = '2026-11-28'"))
    assert sorted(set(opened_objects)) == [f"gs://logs/prod/date=2026-11-28/hour=1/part-{n}"
                                   for n in ("0.jsonl", "1.parquet")]
    assert logs.report.partitions["files_skipped"] == 6
    assert logs.collect().height == 6


@pytest.mark.parametrize("url", ["gs://logs/nothing/", "gs://no-such-bucket/x.jsonl"])
def test_missing_objects_are_one_line(gcs: None, url: str) -> None:
    with pytest.raises(InputError, match=f"^no such object or prefix: {url}$"):
        read_logs(url)
