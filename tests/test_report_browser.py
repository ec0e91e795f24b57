"""The report of sample_logs/ opened in a real headless Chromium, network blocked.

Driven over the DevTools protocol (a websocket on 127.0.0.1): the test records every
request the page attempts, every console message and exception, counts the series each
chart actually drew (a non-empty bounding box), and compares the overview with
``genailog summarize --format json``. A control page (the same report without its CSP,
with an image on a local server planted in it) shows the request recorder and the server
do see requests, so "no request" is a finding, not a blind spot. The top of the page is
saved as a PNG to the artifact directory (``GENAILOG_ARTIFACT_DIR``, default
build/test-artifacts/report); docs/report.png is a copy of one such file.

Skips when Chromium is missing, unless GENAILOG_REQUIRE_ALL=1 (CI), which makes it fail.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import require_or_skip
from typer.testing import CliRunner

from genailog.cli.app import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
         # Anything that still tried the network would go to a dead proxy; loopback is
         # exempt, which is what lets the control page reach its local server.
         "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND, "
         "EXCLUDE 127.0.0.1")  # fmt: skip
#: chart id -> expected series count for sample_logs (7 models, 3 versions, ...).
EXPECTED_SERIES = {
    "cost-over-time": 7, "requests-over-time": 7, "cost-by-version": 1, "top-users": 1,
    "top-sessions": 1, "latency-ecdf": 7, "latency_ms-over-time": 3, "ttft_ms-over-time": 3,
    "latency-p95-by-model": 7, "quality-rates": 3, "feedback-over-time": 1,
    "evals-over-time": 2, "drift-heatmap": 18,
}  # fmt: skip
#: diff-ci draws one interval per metric that diff-prompts compares: counted from it, so
#: the test follows the metrics diff-prompts offers.



def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    require_or_skip("Chromium is not installed (apt-get install chromium)")
    raise AssertionError("unreachable")


class Page:
    """A minimal DevTools client for one page target: send commands, keep every event."""

    def __init__(self, url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.ws.recv()))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"evaluation failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        time.sleep(0.3)  # late violations and console messages arrive after load
        self.evaluate("1")

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(json.dumps(params["exceptionDetails"]))
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                out.append(json.dumps(params["args"]))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                out.append(params["entry"]["text"])
        return out

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Page]:
    pytest.importorskip("websocket", reason="websocket-client is in the test extra")
    binary = _chromium()
    # Chromium's helper processes may still write to the profile as the browser stops:
    # they share its process group, which is ended as a whole, and a file they leave
    # behind does not fail the run (a CI run once failed on the folder not being empty)
    with tempfile.TemporaryDirectory(prefix="genailog-chromium-",
                                     ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--remote-debugging-address=127.0.0.1", "--window-size=1100,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port = _devtools_port(Path(profile), proc)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                targets = json.load(r)
            page = Page(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"])
            for domain in ("Page", "Network", "Runtime", "Log"):
                page.call(f"{domain}.enable")
            yield page
            page.close()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)


def _devtools_port(profile: Path, proc: subprocess.Popen[bytes]) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while not marker.exists() or not marker.read_text().strip():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("Chromium did not start its DevTools endpoint")
        time.sleep(0.05)
    return int(marker.read_text().split()[0])


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The report and summarize's JSON, both from the CLI on sample_logs/."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(SAMPLE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = runner.invoke(app, ["summarize", str(SAMPLE), "--format", "json"])
    assert summary.exit_code == 0, summary.output
    return out, json.loads(summary.stdout)


_CHARTS = """[...document.querySelectorAll('figure.chart')].map(f => ({
  id: f.dataset.chart, expected: Number(f.dataset.series),
  drawn: [...f.querySelectorAll('svg g.series')].filter(g => {
    const b = g.getBBox(); return b.width > 0 && b.height > 0; }).length,
  rows: f.querySelectorAll('details table tbody tr').length}))"""
_OVERVIEW = """[...document.querySelectorAll('.stat')].map(s => ({
  key: s.dataset.key, value: JSON.parse(s.dataset.value),
  text: s.querySelector('.v').textContent}))"""


def test_report_in_chromium(browser: Page, made: tuple[Path, dict[str, Any]]) -> None:
    path, summary = made
    url = path.as_uri()
    browser.open(url)
    assert browser.requests() == [url], "the page attempted requests beyond itself"
    assert browser.errors() == []
    charts = {c["id"]: c for c in browser.evaluate(_CHARTS)}
    from genailog.report.model import build_report

    compared = len(build_report(str(SAMPLE)).to_dict()["diff"]["metrics"])
    expected_series = {**EXPECTED_SERIES, "diff-ci": compared}
    assert set(charts) == set(expected_series)
    for chart_id, expected in expected_series.items():
        chart = charts[chart_id]
        assert chart["expected"] == expected, chart
        assert chart["drawn"] == expected, f"{chart_id}: {chart['drawn']} of {expected} drawn"
        assert chart["rows"] > 0, f"{chart_id} has no data table"
    _check_overview(browser, summary)
    _screenshot(browser)
    _check_media(browser)


def _check_overview(browser: Page, summary: dict[str, Any]) -> None:
    from genailog.report.html import overview_stats

    shown = {s["key"]: s for s in browser.evaluate(_OVERVIEW)}
    expected = overview_stats(summary)  # values read from summarize's JSON, formatted
    assert list(shown) == [key for key, *_ in expected]
    for key, _, value, text in expected:
        assert shown[key]["value"] == value, key
        assert shown[key]["text"] == text, key
    total = summary["total"]
    assert shown["requests"]["value"] == total["requests"] == 3000
    assert shown["cost_usd"]["value"] == total["cost_usd"]
    inlined = browser.evaluate("document.getElementById('genailog-summary').textContent")
    assert json.loads(inlined) == summary


_HIDDEN_TABLES = """[...document.querySelectorAll('details table')]
  .filter(t => !t.checkVisibility()).length"""
_BACKGROUND = "getComputedStyle(document.body).backgroundColor"


def _check_media(browser: Page) -> None:
    """Dark mode follows the system; printing shows every data table, closed or not."""
    assert browser.evaluate(_HIDDEN_TABLES) > 0  # on screen the tables start closed
    browser.call("Emulation.setEmulatedMedia", media="print")
    assert browser.evaluate(_HIDDEN_TABLES) == 0
    browser.call("Emulation.setEmulatedMedia", media="screen",
                 features=[{"name": "prefers-color-scheme", "value": "dark"}])
    assert browser.evaluate(_BACKGROUND) == "rgb(13, 17, 23)"
    browser.call("Emulation.setEmulatedMedia", media="screen",
                 features=[{"name": "prefers-color-scheme", "value": "light"}])
    assert browser.evaluate(_BACKGROUND) == "rgb(255, 255, 255)"
    browser.call("Emulation.setEmulatedMedia", media="")


def _screenshot(browser: Page) -> None:
    shot = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": 1100, "height": 1400, "scale": 1})
    folder = Path(os.environ.get("GENAILOG_ARTIFACT_DIR", ROOT / "build/test-artifacts/report"))
    folder.mkdir(parents=True, exist_ok=True)
    data = base64.b64decode(shot["data"])
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    (folder / "report-top.png").write_bytes(data)


class _Hits(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        _Hits.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_csp_blocks_what_a_report_could_request(browser: Page,
                                                made: tuple[Path, dict[str, Any]],
                                                tmp_path: Path) -> None:
    """A planted image and script on a local server: the CSP stops both (no hit, a
    violation reported); the same page without the CSP reaches the server (the control)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hits)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        page = made[0].read_text(encoding="utf-8").replace(
            "</main>", f'<img src="{base}/img"><script src="{base}/js"></script></main>')
        planted, control = tmp_path / "planted.html", tmp_path / "control.html"
        planted.write_text(page, encoding="utf-8")
        start, end = page.index('<meta http-equiv="Content-Security-Policy"'), 0
        end = page.index(">", start) + 1
        control.write_text(page[:start] + page[end:], encoding="utf-8")
        _Hits.hits.clear()
        browser.open(planted.as_uri())
        assert _Hits.hits == []
        assert any("Content Security Policy" in e for e in browser.errors())
        browser.open(control.as_uri())
        deadline = time.monotonic() + 5
        while len(_Hits.hits) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(_Hits.hits) == ["/img", "/js"]
        assert len(browser.requests()) == 3
    finally:
        server.shutdown()
