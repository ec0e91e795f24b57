"""genailog in CI: --output files, JUnit XML, GitHub annotations and step summaries.

The job test runs the commands a GitHub workflow runs (docs/ci.md) over sample_logs/ with
the environment GitHub sets, and checks what a reviewer would see: the step summary, the
annotations, the JUnit file (against tests/schemas/junit.xsd) and the JSON (against
schemas/). The rest pins the escaping rules of GitHub's workflow commands and of XML.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import base_record, require_or_skip, write_jsonl
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from genailog.cli.app import app
from genailog.render.checks import Check
from genailog.render.github import command, error_annotations, escape_data, escape_property
from genailog.render.junit import to_junit
from genailog.schema.files import load_output_schema

ROOT = Path(__file__).resolve().parent.parent
XSD = Path(__file__).resolve().parent / "schemas" / "junit.xsd"



def junit_schema() -> Any:
    try:
        import xmlschema
    except ImportError:
        require_or_skip("xmlschema is not installed (pip install xmlschema)")
    return xmlschema.XMLSchema(str(XSD))


def unescape(text: str) -> str:
    """What GitHub's runner makes of an escaped message or property."""
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A checkout: sample_logs/ plus a file with two invalid records, and a .git."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    shutil.copytree(ROOT / "sample_logs", root / "logs",
                    ignore=shutil.ignore_patterns("*.parquet", "*.spans.jsonl"))
    write_jsonl(root / "logs" / "broken.jsonl", [
        base_record(request_id="ok-1", latency_ms=120),
        base_record(request_id="bad-1", latency_ms="slow, 100%\nreally"),
        "not json",
    ])
    return root


def github_job(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The environment a GitHub Actions step runs in; returns the step-summary file."""
    summary = workspace.parent / "step_summary.md"
    summary.write_text("", encoding="utf-8")
    monkeypatch.chdir(workspace)
    for name, value in {"GITHUB_ACTIONS": "true", "CI": "true",
                        "GITHUB_STEP_SUMMARY": str(summary),
                        "GITHUB_WORKSPACE": str(workspace)}.items():
        monkeypatch.setenv(name, value)
    return summary


def step(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def annotations_of(stdout: str) -> list[str]:
    """Workflow commands on stdout that GitHub would act on (outside stop-commands)."""
    active, stop, found = True, None, []
    for line in stdout.splitlines():
        if active and line.startswith("::stop-commands::"):
            active, stop = False, line.removeprefix("::stop-commands::")
        elif not active and line == f"::{stop}::":
            active = True
        elif active and line.startswith("::"):
            found.append(line)
    return found


def test_emulated_github_job(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary_file = github_job(workspace, monkeypatch)
    out = workspace / "out"

    validate = step("validate", "logs/", "--output", str(out / "validate.xml"))
    assert validate.exit_code == 1, validate.output
    notes = annotations_of(validate.stdout)
    assert len(notes) == 1, validate.stdout  # grouped: one per file with its count
    assert notes[0].startswith("::error file=logs/broken.jsonl,line=2,title=genailog validate::")
    assert "2 invalid record(s) in " in notes[0] and "line 3" in notes[0]
    assert "100%25" in notes[0]  # the record's % escaped as GitHub requires

    summarize = step("summarize", "logs/", "--on-invalid", "skip", "--by", "model",
                     "--fail-if", "error_rate > 0.04", "--fail-if", "latency_ms_p95 > 1e9",
                     "--output", str(out / "summary.json"), "--output", str(out / "gates.xml"),
                     "--output", str(out / "summary.md"))
    assert summarize.exit_code == 1, summarize.output
    data = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    failed_rows = [(g["expression"], f["label"]) for g in data["gates"] for f in g["failed"]]
    expected = [("error_rate > 0.04", ("total" if g is data["total"] else
                 f"model={g['model']}")) for g in [*data["groups"], data["total"]]
                if g["error_rate"] > 0.04]
    assert failed_rows == expected and failed_rows

    schema = junit_schema()
    schema.validate(str(out / "gates.xml"))
    root = ET.parse(out / "gates.xml").getroot()
    assert int(root.get("failures", "-1")) == len(failed_rows)
    assert len(root.findall(".//failure")) == len(failed_rows)
    assert len(root.findall(".//testcase")) == 2 * (len(data["groups"]) + 1)
    schema.validate(str(out / "validate.xml"))

    validator = jsonschema.Draft202012Validator(load_output_schema("summarize"),
                                                format_checker=jsonschema.FormatChecker())
    validator.validate(data)
    assert data["$schema"] == "https://genailog.dev/schemas/summarize.output.schema.json"
    assert data["genailog_version"]
    stamped = (out / "summary.json").read_text(encoding="utf-8")
    gate_notes = annotations_of(summarize.stdout)
    assert len(gate_notes) == len(failed_rows)
    assert all(n.startswith("::error title=genailog summarize::gate failed: error_rate > 0.04 "
                            "for ") for n in gate_notes)

    summary = summary_file.read_text(encoding="utf-8")
    assert "## genailog validate: 2 invalid of" in summary
    assert "## genailog summarize" in summary
    assert "| model | requests |" in summary and "| gpt-4.1 |" in summary
    assert summary.count("gate failed: error_rate > 0.04") == len(failed_rows)
    assert (out / "summary.md").read_text(encoding="utf-8") in summary
    assert stamped.startswith('{\n  "genailog_version"')

    quiet = step("summarize", "logs/", "--on-invalid", "skip", "--by", "model",
                 "--fail-if", "error_rate > 0.04", "--quiet")
    assert quiet.exit_code == 1, quiet.output
    assert quiet.stdout.splitlines() == annotations_of(quiet.stdout) == gate_notes, \
        "--quiet prints nothing but the workflow commands"


def test_output_json_is_format_json_plus_stamp(tmp_path: Path) -> None:
    logs = write_jsonl(tmp_path / "a.jsonl", [base_record(latency_ms=n) for n in (1, 2, 3)])
    target = tmp_path / "r.json"
    result = step("summarize", str(logs), "--format", "json", "--output", str(target))
    assert result.exit_code == 0, result.output
    written = target.read_text(encoding="utf-8")
    stamp, _, rest = written.partition('"$schema": "https://genailog.dev/schemas/'
                                       'summarize.output.schema.json",\n  ')
    assert stamp.startswith('{\n  "genailog_version": "')
    assert "{\n  " + rest == result.stdout  # byte-identical apart from the two stamp keys


@pytest.mark.parametrize(("command", "extra"), [
    ("validate", []), ("summarize", ["--by", "model"]), ("inspect", []),
    ("export-dataset", ["--out", "{tmp}/set.jsonl"]),
])
def test_markdown_output_from_commands(tmp_path: Path, command: str, extra: list[str]) -> None:
    logs = write_jsonl(tmp_path / "a.jsonl", [base_record(model="m|<b>x</b>", latency_ms=5)])
    target = tmp_path / "out.md"
    args = [a.replace("{tmp}", str(tmp_path)) for a in extra]
    result = step(command, str(logs), *args, "--output", str(target), "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    text = target.read_text(encoding="utf-8")
    assert text.startswith(f"## genailog {command}") or "| file |" in text
    assert "<b>" not in text  # data cannot add HTML to a step summary


def test_output_extension_refused_before_reading(tmp_path: Path) -> None:
    result = step("summarize", str(tmp_path / "missing.jsonl"), "--output",
                  str(tmp_path / "x.html"))
    assert result.exit_code == 2, result.output
    assert "summarize writes .json, .md, .csv, .xml" in result.stderr
    result = step("inspect", str(tmp_path / "missing.jsonl"), "--output",
                  str(tmp_path / "x.xml"))
    assert result.exit_code == 2 and "inspect writes .json, .md" in result.stderr


def test_log_data_never_starts_a_workflow_command(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    hostile = "::error file=x::owned\n::add-mask::x\r\n::warning::y"
    logs = write_jsonl(tmp_path / "a.jsonl", [base_record(model=hostile, latency_ms=5)])
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    for fmt in ("csv", "markdown", "json", "table"):
        result = step("summarize", str(logs), "--by", "model", "--format", fmt,
                      "--fail-if", "requests > 0")
        assert result.exit_code == 1, result.output
        commands = annotations_of(result.stdout)
        assert all(c.startswith("::error title=genailog summarize::gate failed") for c in
                   commands), (fmt, commands)
        assert len(commands) == 2  # the model's group and the total row
        if fmt == "json":  # still JSON a step can redirect to a file, annotations after it
            data, end = json.JSONDecoder().raw_decode(result.stdout)
            assert data["groups"][0]["model"] == hostile
            assert result.stdout[end:].strip().splitlines() == commands


@given(st.text())
def test_escape_data_round_trips(text: str) -> None:
    escaped = escape_data(text)
    assert "\n" not in escaped and "\r" not in escaped
    assert unescape(escaped) == text


@given(st.text())
def test_escape_property_round_trips(text: str) -> None:
    escaped = escape_property(text)
    assert not set(escaped) & {"\n", "\r", ",", ":"}
    assert unescape(escaped) == text


def test_command_is_one_line_with_escaped_parts() -> None:
    line = command("error", "50% done\r\nnext\x1b[31m", file="a,b:c.jsonl", line=3,
                   title=None)
    # control characters are shown (\x0d, \x1b), newlines escaped as GitHub requires
    assert line == "::error file=a%2Cb%3Ac.jsonl,line=3::50%25 done\\x0d%0Anext\\x1b[31m"


def test_annotations_grouped_past_limit() -> None:
    checks = [Check("s", f"c{i}", "failed", f"m{i}") for i in range(25)]
    lines = error_annotations(checks, "summarize", limit=10)
    assert len(lines) == 11 and "15 more failed checks" in lines[-1]


@given(st.lists(st.tuples(st.text(max_size=30), st.sampled_from(["passed", "failed",
                                                                 "skipped"])), max_size=8))
def test_junit_parses_and_counts(cases: list[tuple[str, str]]) -> None:
    checks = [Check(f"suite {i % 2}", name, status, f"msg {name}") for i, (name, status)
              in enumerate(cases)]
    root = ET.fromstring(to_junit(checks, "genailog test"))
    assert int(root.get("tests", "-1")) == len(checks)
    assert int(root.get("failures", "-1")) == sum(c.failed for c in checks)
    assert len(root.findall(".//failure")) == sum(c.failed for c in checks)
    assert len(root.findall(".//skipped")) == sum(c.status == "skipped" for c in checks)


def test_junit_of_diff_prompts_and_drift(tmp_path: Path) -> None:
    schema = junit_schema()
    logs = str(ROOT / "sample_logs" / "week1.jsonl")
    diff = step("diff-prompts", logs, str(ROOT / "sample_logs" / "week2.jsonl"),
                "--baseline", "v1", "--candidate", "v2", "--metrics", "latency_ms,error_rate",
                "--resamples", "200", "-q", "--output", str(tmp_path / "d.xml"),
                "--output", str(tmp_path / "d.json"), "--output", str(tmp_path / "d.csv"))
    data = json.loads((tmp_path / "d.json").read_text(encoding="utf-8"))
    schema.validate(str(tmp_path / "d.xml"))
    cases = ET.parse(tmp_path / "d.xml").getroot().findall(".//testcase")
    assert len(cases) == len(data["metrics"])  # each metric one test case
    failures = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failures == [m["metric"] if m["statistic"] == "rate" else
                        f"{m['metric']} {m['statistic']}" for m in data["metrics"]
                        if m["regression"]]
    assert diff.exit_code == (1 if failures else 0), diff.output

    rows = list(csv.DictReader(io.StringIO((tmp_path / "d.csv").read_text(encoding="utf-8"))))
    assert [(r["metric"], r["regression"]) for r in rows] == [
        (m["metric"], str(m["regression"])) for m in data["metrics"]]
    validator = jsonschema.Draft202012Validator(load_output_schema("diff-prompts"))
    validator.validate(data)

    drift = step("drift", logs, "--features", "latency_ms,model", "--window", "1d", "-q",
                 "--output", str(tmp_path / "w.xml"), "--output", str(tmp_path / "w.json"),
                 "--output", str(tmp_path / "w.csv"))
    data = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(load_output_schema("drift")).validate(data)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "w.csv").read_text(encoding="utf-8"))))
    assert sum(r["drifted"] == "True" for r in rows) == sum(
        f["drifted"] for w in data["windows"] for f in w["features"])
    schema.validate(str(tmp_path / "w.xml"))
    root = ET.parse(tmp_path / "w.xml").getroot()
    drifted = sum(f["drifted"] for w in data["windows"] if w["judged"] for f in w["features"])
    assert int(root.get("failures", "-1")) == drifted
    judged = [w for w in data["windows"] if w["judged"]]
    assert len(root.findall(".//testcase")) == sum(len(w["features"]) for w in judged) + \
        len(data["windows"]) - len(judged)
    assert drift.exit_code == (1 if data["drifted"] else 0), drift.output


def test_thin_artifacts_fail_when_a_verdict_is_asked(tmp_path: Path) -> None:
    logs = write_jsonl(tmp_path / "a.jsonl", [
        base_record(prompt_version=v, latency_ms=10 + i) for v in ("v1", "v2") for i in range(5)])
    args = ["diff-prompts", str(logs), "--baseline", "v1", "--candidate", "v2", "-q"]
    assert step(*args).exit_code == 0  # reported, not judged
    strict = step(*args, "--fail-on-insufficient")
    assert strict.exit_code == 1, strict.output
    assert strict.stderr.startswith("insufficient data: ") and strict.stderr.count("\n") == 1
    days = write_jsonl(tmp_path / "d.jsonl", [
        base_record(timestamp=f"2026-01-0{day}T10:00:0{i}Z", latency_ms=10 + i)
        for day, n in ((1, 6), (2, 3)) for i in range(n)])
    drift = ["drift", str(days), "--features", "latency_ms", "--min-records", "5", "-q"]
    thin = step(*drift)
    assert thin.exit_code == 1 and "no window could be judged" in thin.stderr, thin.output
    assert step(*drift, "--allow-empty").exit_code == 0


def docs_ci_commands() -> list[list[str]]:
    """Every genailog command line of the workflows in docs/ci.md, as argv."""
    import re
    import shlex

    import yaml

    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    lines: list[str] = []
    for block in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL):
        doc = yaml.safe_load(block)
        for job in (doc.get("jobs") or {"gitlab": doc["genailog"]}).values():
            lines += [s["run"] for s in job.get("steps", []) if "run" in s]
            lines += job.get("script", [])
    return [shlex.split(line.split(" || ")[0])[1:] for line in lines
            if line.startswith("genailog ")]


def test_docs_ci_workflows_use_real_options() -> None:
    """The workflows in docs/ci.md parse as YAML and every command line they run is
    accepted by the CLI's parser (no option that does not exist)."""
    import typer.main

    registered = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    commands = docs_ci_commands()
    assert len(commands) == 8 and {c[0] for c in commands} == {
        "validate", "summarize", "diff-prompts", "drift"}
    for argv in commands:
        command = registered.get(argv[0])
        assert command is not None, argv
        command.make_context(argv[0], argv[1:])  # raises on an unknown option


@given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6), st.integers(-10**9, 10**9)),
                max_size=12), st.booleans(), st.one_of(st.none(), st.integers(1, 15)))
def test_sort_groups_orders_numbers_as_numbers(values: list[float | None], descending: bool,
                                               top: int | None) -> None:
    from genailog.cli.summarize import sort_groups

    groups = [{"user_id": f"u{i}", "cost_usd": v} for i, v in enumerate(values)]
    data = sort_groups({"groups": groups}, ("cost_usd", descending), top)
    known = sorted((v for v in values if v is not None), reverse=descending)
    expected = (known + [None] * values.count(None))[:top]
    assert [g["cost_usd"] for g in data["groups"]] == expected
    assert data["sort"]["groups"] == len(values)


def test_sort_and_top_on_the_command_line(tmp_path: Path) -> None:
    latencies = {f"u{i}": 10.0 * ((i * 7) % 13) for i in range(13)}
    logs = write_jsonl(tmp_path / "a.jsonl", [base_record(user_id=u, latency_ms=ms)
                                              for u, ms in latencies.items()])
    result = step("summarize", str(logs), "--by", "user_id", "--sort", "latency_ms_p50",
                  "--top", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    shown = [g["user_id"] for g in json.loads(result.stdout)["groups"]]
    assert shown == sorted(latencies, key=lambda u: -latencies[u])[:3]
    bad = step("summarize", str(logs), "--by", "user_id", "--sort", "latency")
    assert bad.exit_code == 2 and "--sort latency: not a metric" in bad.stderr


def test_annotation_of_a_hostile_file_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    name = "run,one:two%\x1b[31m.jsonl"
    logs = write_jsonl(tmp_path / name, [base_record(latency_ms=-1)])
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(tmp_path)
    result = step("validate", str(logs))
    assert result.exit_code == 1, result.output
    [note] = annotations_of(result.stdout)
    props, _, message = note.removeprefix("::error ").partition("::")
    assert props.split(",")[0] == "file=run%2Cone%3Atwo%25\\x1b[31m.jsonl"
    assert "\x1b" not in note and props.split(",")[1] == "line=1"
    assert unescape(message).startswith("1 invalid record(s) in ")
