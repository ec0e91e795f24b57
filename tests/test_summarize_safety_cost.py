"""summarize --safety, --top and the per-window cost anomalies, against DuckDB over the
same records."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from genailog.analysis.costviews import modified_z
from genailog.analysis.safety import fired
from genailog.api import summarize
from genailog.cli.app import app
from genailog.ingest.frame import canonical_frame
from genailog.schema.files import load_output_schema

duckdb = pytest.importorskip("duckdb")
MODELS = ("gpt-4.1", "claude-sonnet-4", "o4-mini")
START = datetime(2026, 11, 2, tzinfo=UTC)


def _flags(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.3:
        return None
    if roll < 0.6:
        return rng.sample(["hate", "violence", "self-harm", "harassment"], rng.randint(0, 2))
    return {"hate": round(rng.random(), 2), "violence": rng.random() < 0.2,
            "sexual": round(rng.random() * 0.6, 2)}


def records(seed: int = 1, n: int = 1500, days: int = 12) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        record: dict[str, Any] = {
            "timestamp": (START + timedelta(seconds=i * days * 86400 / n)).isoformat(),
            "model": rng.choice(MODELS), "user_id": f"u{int(rng.paretovariate(1.2)) % 60}",
            "session_id": f"s{i % 97}", "cost_usd": round(rng.lognormvariate(-6, 0.5), 6),
        }
        if rng.random() < 0.8:
            record["refusal"] = rng.random() < 0.05
        if rng.random() < 0.9:
            record["finish_reason"] = rng.choice(("stop", "stop", "length", "content_filter"))
        if (flags := _flags(rng)) is not None:
            record["moderation_flags"] = flags
        out.append(record)
    return out


def _duck(rows: list[dict[str, Any]]) -> Any:
    import polars as pl

    con = duckdb.connect()
    table = pl.DataFrame({
        "i": range(len(rows)), "ts": [r["timestamp"] for r in rows],
        "model": [r["model"] for r in rows], "user_id": [r["user_id"] for r in rows],
        "session_id": [r["session_id"] for r in rows], "cost": [r["cost_usd"] for r in rows],
        "refusal": pl.Series([r.get("refusal") for r in rows], dtype=pl.Boolean),
        "finish": pl.Series([r.get("finish_reason") for r in rows], dtype=pl.String),
        "flags": [json.dumps(r["moderation_flags"]) if "moderation_flags" in r else None
                  for r in rows]})
    con.register("raw", table.to_arrow())
    con.execute("CREATE TABLE r AS SELECT * EXCLUDE (ts, flags), ts::TIMESTAMPTZ AS ts, "
                "flags::JSON AS flags FROM raw")
    # Categories fired, from DuckDB's own JSON functions: listed names, true, or >= 0.5.
    con.execute("""
        CREATE VIEW fired AS
        SELECT DISTINCT i, cat FROM (
            SELECT i, unnest(from_json(flags, '["VARCHAR"]')) AS cat FROM r
            WHERE json_type(flags) = 'ARRAY'
            UNION ALL
            SELECT i, k FROM (SELECT i, flags, unnest(json_keys(flags)) AS k FROM r
                              WHERE json_type(flags) = 'OBJECT')
            WHERE json_extract(flags, '$.' || k)::VARCHAR = 'true'
               OR (json_type(json_extract(flags, '$.' || k)) IN ('DOUBLE', 'UBIGINT', 'BIGINT')
                   AND json_extract(flags, '$.' || k)::DOUBLE >= 0.5))""")
    return con


def test_safety_view_equals_duckdb() -> None:
    rows = records()
    result = summarize(canonical_frame(rows)[0], by=["model"], safety=True)
    assert result.safety is not None
    con = _duck(rows)
    expected = {m: vals for m, *vals in con.execute("""
        SELECT model, count(*), sum(refusal::INT), avg(refusal::INT), count(refusal),
               sum((finish = 'content_filter')::INT), avg((finish = 'content_filter')::INT),
               count(finish),
               count(*) FILTER (WHERE i IN (SELECT i FROM fired)),
               count(*) FILTER (WHERE i IN (SELECT i FROM fired))
                   / count(flags)::DOUBLE,
               count(flags)
        FROM r GROUP BY model""").fetchall()}
    names = ("requests", "refusals", "refusal_rate", "refusal_rate_count", "content_filter",
             "content_filter_rate", "content_filter_rate_count", "moderated",
             "moderation_rate", "moderation_rate_count")
    for group in result.safety["groups"]:
        assert [group[n] for n in names] == pytest.approx(expected[group["model"]])
    categories = {(m, c): n for m, c, n in con.execute(
        "SELECT model, cat, count(*) FROM fired JOIN r USING (i) GROUP BY ALL").fetchall()}
    got = {(g["model"], c): n for g in result.safety["groups"] for c, n in g["categories"].items()}
    assert got == categories
    total = dict(con.execute("SELECT cat, count(*) FROM fired GROUP BY cat").fetchall())
    assert result.safety["total"]["categories"] == total
    assert result.safety["categories"] == sorted(total)


def test_top_groups_by_cost_equal_duckdb() -> None:
    rows = records(2)
    con = _duck(rows)
    for key in ("user_id", "session_id"):
        result = summarize(canonical_frame(rows)[0], by=[key], top=5)
        expected = con.execute(f"""
            SELECT {key}, sum(cost), sum(cost) / (SELECT sum(cost) FROM r), count(*)
            FROM r GROUP BY {key} ORDER BY sum(cost) DESC LIMIT 5""").fetchall()
        got = [(g[key], g["cost_usd"], g["cost_share"], g["requests"]) for g in result.groups]
        assert [g[0] for g in got] == [e[0] for e in expected]
        for mine, theirs in zip(got, expected, strict=True):
            assert mine[1:] == pytest.approx(theirs[1:], rel=1e-9)
        assert result.top is not None
        assert result.top["groups"] == con.execute(
            f"SELECT count(DISTINCT {key}) FROM r").fetchone()[0]
        assert result.top["cost_share"] == pytest.approx(sum(e[2] for e in expected))


def _exploding(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Day 8 of gpt-4.1 costs 20 times as much."""
    for r in rows:
        if r["model"] == "gpt-4.1" and r["timestamp"].startswith("2026-11-09"):
            r["cost_usd"] *= 20
    return rows


def test_cost_anomalies_equal_duckdb_median_mad() -> None:
    rows = _exploding(records(3))
    result = summarize(canonical_frame(rows)[0], by=["model"], window="1d")
    con = _duck(rows)
    flagged = con.execute("""
        WITH d AS (SELECT model, date_trunc('day', ts AT TIME ZONE 'UTC') AS day,
                          sum(cost) AS cost FROM r GROUP BY ALL),
             s AS (SELECT model, median(cost) AS med, mad(cost) AS mad FROM d GROUP BY model)
        SELECT model, strftime(day, '%Y-%m-%d'), 0.6745 * (cost - med) / mad
        FROM d JOIN s USING (model)
        WHERE 0.6745 * (cost - med) / mad > 3.5 AND cost >= 1.5 * med""").fetchall()
    assert result.cost_anomalies is not None
    got = [(a["model"], a["window"][:10], a["score"]) for a in result.cost_anomalies]
    assert [g[:2] for g in got] == [("gpt-4.1", "2026-11-09")]
    assert len(flagged) == 1
    assert got[0][2] == pytest.approx(flagged[0][2], rel=1e-9)
    assert (got[0][0], got[0][1]) == flagged[0][:2]
    judged = [g for g in result.groups if g["cost_anomaly"] is not None]
    assert len(judged) == len(result.groups)  # 12 windows per model: all judged


def test_clean_windows_raise_no_anomaly() -> None:
    # 1 of seeds 0-39 raises one (the rule's false alarm rate on these series, measured)
    for seed in (4, 5, 6):
        result = summarize(canonical_frame(records(seed))[0], by=["model"], window="1d")
        assert result.cost_anomalies == [], seed


def test_modified_z_falls_back_to_mean_deviation_and_to_none() -> None:
    assert modified_z([1, 1, 1, 1, 9]) == pytest.approx(
        [0.0] * 4 + [8 / (1.253314 * 1.6)])
    assert modified_z([2, 2, 2]) == [None, None, None]


def test_fired_categories() -> None:
    assert fired(["hate", "hate", 3]) == ["hate"]
    assert fired({"a": True, "b": False, "c": 0.7, "d": 0.2, "e": "x"}) == ["a", "c"]
    assert fired("hate") is None


def _write(tmp_path: Path, rows: list[dict[str, Any]]) -> str:
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return str(path)


def test_cli_json_matches_schema_in_every_view(tmp_path: Path) -> None:
    path = _write(tmp_path, _exploding(records(5)))
    schema = Draft202012Validator(load_output_schema("summarize"))
    runner = CliRunner()
    for args in (["--by", "user_id", "--top", "3", "--safety"],
                 ["--by", "model", "--window", "1d", "--safety"], ["--safety"]):
        out = runner.invoke(app, ["summarize", path, "--format", "json", *args])
        assert out.exit_code == 0, out.output
        data = json.loads(out.stdout)
        schema.validate(data)
        assert "safety" in data
        for fmt in ("table", "markdown"):
            shown = runner.invoke(app, ["summarize", path, "--format", fmt, *args])
            assert shown.exit_code == 0, shown.output
            assert "content_filter" in shown.stdout
    table = runner.invoke(app, ["summarize", path, "--by", "model", "--window", "1d"]).stdout
    assert "cost anomaly: 2026-11-09" in table and "model=gpt-4.1" in table


def test_cli_top_usage_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, records(6, n=20))
    runner = CliRunner()
    for args in (["--top", "3"], ["--by", "user_id", "--top", "0"],
                 ["--by", "user_id", "--top", "3", "--window", "1d"]):
        out = runner.invoke(app, ["summarize", path, *args])
        assert out.exit_code == 2, (args, out.output)


def test_diff_prompts_content_filter_rate_equals_duckdb() -> None:
    from genailog.analysis.compare import diff_prompts

    rows = records(7, n=600)
    for i, r in enumerate(rows):
        r["prompt_version"] = "v1" if i % 2 else "v2"
    result = diff_prompts(canonical_frame(rows)[0].lazy(), "v1", "v2")
    got = next(m for m in result.to_dict()["metrics"] if m["metric"] == "content_filter_rate")
    con = _duck(rows)
    want = dict(con.execute(
        "SELECT CASE WHEN i % 2 = 1 THEN 'v1' ELSE 'v2' END, "
        "[avg((finish = 'content_filter')::INT), count(finish)] FROM r GROUP BY 1").fetchall())
    assert [got["baseline"], got["n_baseline"]] == pytest.approx(want["v1"])
    assert [got["candidate"], got["n_candidate"]] == pytest.approx(want["v2"])


def test_drift_moderated_feature_equals_duckdb_and_finds_a_jump() -> None:
    import polars as pl

    from genailog.analysis.drift import DriftOptions, detect_drift
    from genailog.analysis.safety import moderated

    rows = records(8, n=2000, days=14)
    frame = canonical_frame(rows)[0]
    ours = frame.select(moderated()).to_series().to_list()
    con = _duck(rows)
    want = dict(con.execute(
        "SELECT i, CASE WHEN flags IS NULL THEN NULL ELSE i IN (SELECT i FROM fired) END "
        "FROM r").fetchall())
    assert ours == [want[i] for i in range(len(rows))]
    # Week two: every logged moderation result fires "hate".
    for r in rows[1000:]:
        if "moderation_flags" in r:
            r["moderation_flags"] = ["hate"]
    result = detect_drift(canonical_frame(rows)[0].lazy(),
                          options=DriftOptions(window="1w", features=("moderated",)))
    week_two = result.to_dict()["windows"][-1]
    assert week_two["drifted_features"] == ["moderated"], week_two
    assert pl.Series(ours).null_count() == sum("moderation_flags" not in r for r in rows)
