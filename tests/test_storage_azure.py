"""``az://`` inputs against Azurite (Microsoft's Azure Storage emulator, from npm) on
127.0.0.1: a partitioned prefix of JSONL and Parquet read through adlfs, --since pruning
counted as the objects opened, and a missing container as one line.

Azurite is found as GENAILOG_AZURITE (the azurite-blob script; .ci/run installs it) or on
PATH; adlfs comes with the test extra. Missing either, the test skips with the reason, and
fails under GENAILOG_REQUIRE_ALL=1. Telemetry is switched off (--disableTelemetry).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from conftest import require_or_skip

from genailog.errors import InputError
from genailog.ingest import read_logs
from genailog.query.prune import partition_prune

#: Azurite's documented development account (public, fixed, only valid on the emulator).
ACCOUNT = "devstoreaccount1"
KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
       "KBHBeksoGMGw==")
DAYS = ("2026-11-28", "2026-11-29")


#: Every test reads as a new process with the cache off (conftest.fresh_remote_reads).
pytestmark = pytest.mark.usefixtures("fresh_remote_reads")



def _records(day: str, hour: int) -> list[dict[str, Any]]:
    return [{"timestamp": f"{day}T{hour:02d}:0{i}:00Z", "model": "m", "input_tokens": hour,
             "output_tokens": i} for i in range(3)]


def _start(script: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [script, "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
         "--disableTelemetry", "--skipApiVersionCheck"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        found = re.search(r"listens on http://127\.0\.0\.1:(\d+)", line)
        if found:
            return process, int(found.group(1))
        if not line and process.poll() is not None:
            break
    process.kill()
    pytest.fail("azurite-blob did not start within 30 s")


@pytest.fixture(scope="module")
def azure() -> Iterator[None]:
    script = os.environ.get("GENAILOG_AZURITE") or shutil.which("azurite-blob")
    try:
        import adlfs
        from azure.storage.blob import BlobServiceClient
    except ImportError as exc:
        require_or_skip(f"adlfs (the azure extra) is needed for the az:// tests: {exc}")
    if not script:
        require_or_skip("Azurite is needed for the az:// tests: npm install azurite and "
                        "set GENAILOG_AZURITE to its azurite-blob script")
    process, port = _start(str(script))
    connection = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                  f"BlobEndpoint=http://127.0.0.1:{port}/{ACCOUNT};")
    patch = pytest.MonkeyPatch()
    patch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection)
    adlfs.AzureBlobFileSystem.clear_instance_cache()
    service = BlobServiceClient.from_connection_string(connection)
    service.create_container("logs")
    for day in DAYS:
        for hour in (1, 13):
            records = _records(day, hour)
            prefix = f"prod/date={day}/hour={hour}"
            service.get_blob_client("logs", f"{prefix}/part-0.jsonl").upload_blob(
                "".join(json.dumps(r) + "\n" for r in records).encode())
            buffer = io.BytesIO()
            pl.DataFrame(records).with_columns(pl.col("timestamp").str.to_datetime(
                time_zone="UTC")).write_parquet(buffer)
            service.get_blob_client("logs", f"{prefix}/part-1.parquet").upload_blob(
                buffer.getvalue())
    try:
        yield
    finally:
        patch.undo()
        adlfs.AzureBlobFileSystem.clear_instance_cache()
        process.terminate()
        process.wait(timeout=10)


def test_reads_a_partitioned_container_prefix(azure: None) -> None:
    frame = read_logs("az://logs/prod/").collect()
    assert frame.height == 2 * 2 * 2 * 3  # days x hours x (JSONL, Parquet) x records
    assert frame["input_tokens"].to_list() == frame["hour"].to_list()
    assert sorted(frame["date"].unique().to_list()) == list(DAYS)


def test_since_opens_only_the_selected_partitions(azure: None, opened_objects: list[str]) -> None:
    logs = read_logs("az://logs/prod/", prune=partition_prune(since="2026-11-29T12:00:00Z"))
    assert sorted(set(opened_objects)) == [f"az://logs/prod/date=2026-11-29/hour=13/part-{n}"
                                   for n in ("0.jsonl", "1.parquet")]
    assert logs.report.partitions["files_skipped"] == 6
    assert logs.collect().height == 6


def test_a_missing_container_is_one_line(azure: None) -> None:
    with pytest.raises(InputError, match="^no such object or prefix: az://no-such/x.jsonl$"):
        read_logs("az://no-such/x.jsonl")
