"""Logs in object storage, read from a local S3-compatible server (moto's server, on
127.0.0.1 only): partitioned JSONL and Parquet, globs on a bucket, pruning counted as the
object reads the server saw, the cache keyed by ETag, and one-line errors (exit 3).

Needs moto[server] and s3fs (the test extra); skipped with the reason when missing, and
failed under GENAILOG_REQUIRE_ALL=1 (CI installs them).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import require_or_skip
from typer.testing import CliRunner

from genailog.errors import InputError
from genailog.ingest import read_logs
from genailog.query.prune import partition_prune

BUCKET = "genai-logs"
DAYS = ("2026-11-28", "2026-11-29")
HOURS = (12, 13, 14)


#: Every test reads as a new process with the cache off (conftest.fresh_remote_reads).
pytestmark = pytest.mark.usefixtures("fresh_remote_reads")



class Server:
    """moto's S3 in a werkzeug server on 127.0.0.1 that logs every request."""

    def __init__(self) -> None:
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        self.requests: list[tuple[str, str, str]] = []

        def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"],
                                  environ.get("QUERY_STRING", "")))
            return app(environ, start_response)

        self.server = make_server("127.0.0.1", 0, logged, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def object_reads(self) -> list[str]:
        """The keys whose content was fetched (GETs of an object, not listings)."""
        prefix = f"/{BUCKET}/"
        return sorted({path[len(prefix):] for method, path, query in self.requests
                       if method == "GET" and path.startswith(prefix) and "list-type" not in
                       query})

    def stop(self) -> None:
        self.server.shutdown()


def _records(day: str, hour: int) -> list[dict[str, Any]]:
    return [{"timestamp": f"{day}T{hour:02d}:{i:02d}:00Z", "model": f"m{i % 2}",
             "input_tokens": 100 * hour + i, "output_tokens": i, "latency_ms": 10.0 * i}
            for i in range(4)]


def _parquet(records: list[dict[str, Any]], path: Path) -> bytes:
    pl.DataFrame(records).with_columns(
        pl.col("timestamp").str.to_datetime(time_zone="UTC")).write_parquet(path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Any]]:
    try:
        import boto3
        import moto.server  # noqa: F401
        import s3fs
        import werkzeug  # noqa: F401
    except ImportError as exc:
        require_or_skip(f"moto[server] and s3fs are needed for the storage tests: {exc}")
    server = Server()
    patch = pytest.MonkeyPatch()
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": server.url,
                        "AWS_CONFIG_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true",
                        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}.items():
        patch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    client = boto3.client("s3", endpoint_url=server.url)
    client.create_bucket(Bucket=BUCKET)
    scratch = tmp_path_factory.mktemp("s3-upload")
    for day in DAYS:
        for hour in HOURS:
            records = _records(day, hour)
            body = "".join(json.dumps(r) + "\n" for r in records).encode()
            client.put_object(Bucket=BUCKET, Body=body,
                              Key=f"jsonl/date={day}/hour={hour}/part-0.jsonl")
            client.put_object(Bucket=BUCKET, Body=_parquet(records, scratch / "p.parquet"),
                              Key=f"parquet/date={day}/hour={hour}/part-0.parquet")
    try:
        yield server, client
    finally:
        patch.undo()
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


def _all_records() -> list[dict[str, Any]]:
    return [r for day in DAYS for hour in HOURS for r in _records(day, hour)]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_reads_a_partitioned_prefix(s3: tuple[Server, Any], fmt: str) -> None:
    logs = read_logs(f"s3://{BUCKET}/{fmt}/")
    frame = logs.collect()
    expected = _all_records()
    assert frame.height == len(expected)
    assert frame["input_tokens"].sum() == sum(r["input_tokens"] for r in expected)
    assert sorted(frame["hour"].unique().to_list()) == list(HOURS)
    # each record's partition columns are those of the object it came from
    assert (frame["input_tokens"] // 100).to_list() == frame["hour"].to_list()
    assert [f.path for f in logs.report.files][0] == (
        f"s3://{BUCKET}/{fmt}/date=2026-11-28/hour=12/part-0.{fmt}")


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_since_until_fetch_only_the_selected_partitions(s3: tuple[Server, Any],
                                                        fmt: str) -> None:
    server, _ = s3
    server.requests.clear()
    logs = read_logs(f"s3://{BUCKET}/{fmt}/", prune=partition_prune(
        since="2026-11-29T13:00:00Z", until="2026-11-29T15:00:00Z"))
    assert server.object_reads() == [f"{fmt}/date=2026-11-29/hour={h}/part-0.{fmt}"
                                     for h in (13, 14)]
    assert logs.report.partitions["files_skipped"] == 4
    assert logs.collect().height == 8


def test_where_on_a_partition_key_fetches_only_its_objects(s3: tuple[Server, Any]) -> None:
    server, _ = s3
    server.requests.clear()
    logs = read_logs(f"s3://{BUCKET}/parquet/",
                     prune=partition_prune(where="hour = 12 AND model = 'm1'"))
    assert server.object_reads() == [f"parquet/date={d}/hour=12/part-0.parquet" for d in DAYS]
    assert logs.report.to_dict()["partitions"] == {
        "keys": ["date", "hour"], "files": 6, "files_skipped": 4, "pruned_by": ["--where"]}


def test_glob_on_a_bucket(s3: tuple[Server, Any]) -> None:
    server, _ = s3
    server.requests.clear()
    frame = read_logs(f"s3://{BUCKET}/jsonl/date=2026-11-29/hour=1[34]/*.jsonl").collect()
    assert frame.height == 8 and sorted(frame["hour"].unique().to_list()) == [13, 14]
    assert "date" not in frame.columns  # above the glob's root: part of the name given
    assert server.object_reads() == [f"jsonl/date=2026-11-29/hour={h}/part-0.jsonl"
                                     for h in (13, 14)]


def test_summarize_from_storage_matches_local_read(s3: tuple[Server, Any],
                                                   tmp_path: Path) -> None:
    from genailog.api import summarize

    local = tmp_path / "all.jsonl"
    local.write_text("".join(json.dumps(r) + "\n" for r in _all_records()
                             if r["timestamp"] >= "2026-11-29"))
    remote = summarize(f"s3://{BUCKET}/jsonl/", since="2026-11-29").to_dict()["total"]
    assert remote == summarize(str(local)).to_dict()["total"]


def test_the_cache_is_keyed_by_etag(s3: tuple[Server, Any], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from genailog.ingest import cache, reader
    from genailog.ingest.sources import discover

    server, client = s3
    monkeypatch.setattr(cache, "MIN_BYTES", 0)
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    monkeypatch.setenv("GENAILOG_CACHE_DIR", str(root))
    monkeypatch.delenv("GENAILOG_NO_CACHE", raising=False)
    url = f"s3://{BUCKET}/jsonl/date=2026-11-28/hour=12/part-0.jsonl"
    first = read_logs(url).collect()
    (source,) = discover([url])
    key = cache.cache_key(source, root)
    assert key is not None and (root / key / "meta.json").exists()

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed again although the cache holds this ETag")

    monkeypatch.setattr(reader, "_parse_into_cache", no_parse)
    assert read_logs(url).collect().equals(first)
    # a new version of the object (another ETag) is another key
    client.put_object(Bucket=BUCKET, Key="jsonl/date=2026-11-28/hour=12/part-0.jsonl",
                      Body=b"".join(json.dumps(r).encode() + b"\n"
                                    for r in _records("2026-11-28", 12)[:2]))
    (changed,) = discover([url])
    assert changed.remote is not None and source.remote is not None
    assert changed.remote.etag != source.remote.etag
    assert cache.cache_key(changed, root) != key
    monkeypatch.undo()
    assert read_logs(url).collect().height == 2


@pytest.mark.parametrize(("url", "message"), [
    (f"s3://{BUCKET}/nothing/here.jsonl", f"no such object or prefix: s3://{BUCKET}/nothing"),
    ("s3://no-such-bucket/logs/", "no such object or prefix: s3://no-such-bucket/logs/"),
    (f"s3://{BUCKET}/jsonl/*/hour=99/*.jsonl", "no objects match"),
])
def test_missing_objects_are_one_line_exit_3(s3: tuple[Server, Any], url: str,
                                             message: str) -> None:
    from genailog.cli.app import app

    with pytest.raises(InputError, match="^" + message.replace("*", r"\*").replace(
            "?", r"\?").replace("[", r"\[")):
        read_logs(url)
    result = CliRunner().invoke(app, ["validate", url])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1


def test_denied_access_is_one_line(s3: tuple[Server, Any],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from genailog.ingest.remote import fail

    error = fail("s3://b/k", PermissionError("Access Denied"))
    assert str(error).startswith("access denied to s3://b/k") and error.exit_code == 3


class _Web:
    """A plain HTTP server on 127.0.0.1: a log file, a redirect elsewhere, nothing else."""

    def __init__(self) -> None:
        import http.server

        body = (json.dumps(_records("2026-11-29", 1)[0]) + "\n").encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:  # noqa: N802 - the server's name
                if self.path == "/nohead.jsonl":
                    self.send_response(405)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.answer(send=False)

            def do_GET(self) -> None:  # noqa: N802
                self.answer(send=True)

            def answer(self, send: bool) -> None:
                if self.path == "/moved.jsonl":
                    self.send_response(302)
                    self.send_header("Location", "http://127.0.0.2:9/\x1b[31melsewhere.jsonl")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                found = self.path in ("/a.jsonl", "/nohead.jsonl")
                self.send_response(200 if found else 404)
                self.send_header("Content-Length", str(len(body) if found else 0))
                self.end_headers()
                if send and found:
                    self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def web() -> Iterator[_Web]:
    server = _Web()
    yield server
    server.server.shutdown()


def test_web_inputs_are_off_unless_allowed(web: _Web, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GENAILOG_ALLOW_HTTPS", raising=False)
    with pytest.raises(InputError, match="GENAILOG_ALLOW_HTTPS=1"):
        read_logs(f"{web.url}/a.jsonl")
    monkeypatch.setenv("GENAILOG_ALLOW_HTTPS", "1")
    assert read_logs(f"{web.url}/a.jsonl").collect()["input_tokens"].to_list() == [100]
    # a server that refuses HEAD is read by its GET
    assert read_logs(f"{web.url}/nohead.jsonl").collect().height == 1
    with pytest.raises(InputError, match="plain http:// is read only from this machine"):
        read_logs("http://example.invalid/a.jsonl")


def test_a_redirect_is_refused_never_followed(web: _Web,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from genailog.cli.app import app

    monkeypatch.setenv("GENAILOG_ALLOW_HTTPS", "1")
    with pytest.raises(InputError, match=r"redirects \(302\) to http://127.0.0.2:9/") as err:
        read_logs(f"{web.url}/moved.jsonl")
    assert "\x1b" not in str(err.value)  # the Location header is data, never a terminal code
    result = CliRunner().invoke(app, ["validate", f"{web.url}/nope.jsonl"])
    assert result.exit_code == 3, result.output
    assert "no such object or prefix" in result.stderr and "Traceback" not in result.output


def test_a_missing_filesystem_package_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "gcsfs", None)  # as if not installed
    with pytest.raises(InputError, match=r"pip install 'genailog\[gcs\]'"):
        read_logs("gs://bucket/logs/")
    with pytest.raises(InputError, match="ftp:// is not an input genailog reads"):
        read_logs("ftp://host/logs.jsonl")


def test_the_command_line_prunes_and_says_so(s3: tuple[Server, Any]) -> None:
    from genailog.cli.app import app

    server, _ = s3
    server.requests.clear()
    result = CliRunner().invoke(app, ["summarize", f"s3://{BUCKET}/parquet/", "--by", "hour",
                                      "--since", "2026-11-29", "--where", "hour >= 13",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    assert server.object_reads() == [f"parquet/date=2026-11-29/hour={h}/part-0.parquet"
                                     for h in (13, 14)]
    assert "4 of 6 file(s) skipped unopened" in result.stderr
    groups = {g["hour"]: g["requests"] for g in json.loads(result.stdout)["groups"]}
    assert groups == {13: 4, 14: 4}


def test_an_object_that_fails_midway_gives_no_partial_records(s3: tuple[Server, Any]) -> None:
    import gzip

    _, client = s3
    lines = "".join(json.dumps(r) + "\n" for _ in range(20_000)
                    for r in _records("2026-11-27", 1)).encode()
    whole = gzip.compress(lines)
    client.put_object(Bucket=BUCKET, Key="broken/a.jsonl", Body=lines[:200])
    client.put_object(Bucket=BUCKET, Key="broken/b.jsonl.gz", Body=whole[: len(whole) // 2])
    logs = read_logs(f"s3://{BUCKET}/broken/", on_invalid="skip", chunk_bytes=1 << 16)
    complete = lines[:200].count(b"\n")
    assert logs.collect().height == complete  # nothing of the truncated object
    assert [f.path for f in logs.report.files] == [f"s3://{BUCKET}/broken/a.jsonl"]
    assert [name for name, _ in logs.report.unreadable] == [f"s3://{BUCKET}/broken/b.jsonl.gz"]


def test_parquet_objects_are_kept_by_etag(s3: tuple[Server, Any], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from genailog.ingest import remote

    server, client = s3
    root = tmp_path / "cache"
    monkeypatch.setenv("GENAILOG_CACHE_DIR", str(root))
    monkeypatch.delenv("GENAILOG_NO_CACHE")
    url = f"s3://{BUCKET}/parquet/date=2026-11-28/hour=13/part-0.parquet"
    first = read_logs(url).collect()
    kept = list((root / "objects").iterdir())
    assert len(kept) == 2 and all(p.stat().st_mode & 0o077 == 0 for p in kept)
    monkeypatch.setattr(remote, "_staged", {})
    server.requests.clear()
    assert read_logs(url).collect().equals(first)
    assert server.object_reads() == []  # listed, not downloaded again
    # a copy that does not match its recorded hash is downloaded again, never trusted
    (data,) = [p for p in kept if not p.name.endswith(".json")]
    data.write_bytes(data.read_bytes()[:-8] + b"tampered")
    monkeypatch.setattr(remote, "_staged", {})
    assert read_logs(url).collect().equals(first)
    assert server.object_reads() == ["parquet/date=2026-11-28/hour=13/part-0.parquet"]
    # a new version of the object (another ETag) is another copy
    body = _parquet(_records("2026-11-28", 13)[:1], tmp_path / "one.parquet")
    client.put_object(Bucket=BUCKET, Key="parquet/date=2026-11-28/hour=13/part-0.parquet",
                      Body=body)
    monkeypatch.setattr(remote, "_staged", {})
    assert read_logs(url).collect().height == 1
    client.put_object(Bucket=BUCKET, Key="parquet/date=2026-11-28/hour=13/part-0.parquet",
                      Body=_parquet(_records("2026-11-28", 13), tmp_path / "all.parquet"))
