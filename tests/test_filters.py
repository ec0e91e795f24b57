"""The shared --where/--since/--until filters."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from genailog.errors import ExpressionError, UsageError
from genailog.query.filters import apply_filters, parse_time

FRAME = pl.LazyFrame({
    "timestamp": [datetime(2025, 12, d, tzinfo=UTC) for d in (1, 2, 3)],
    "model": ["a", "b", "b"],
    "latency_ms": [10.0, 2000.0, 3000.0],
    "hallucination_flag": [True, False, None],
})


def test_where_is_sql_over_fields() -> None:
    kept = apply_filters(FRAME, where="model = 'b' AND latency_ms > 2500").collect()
    assert kept["latency_ms"].to_list() == [3000.0]
    assert apply_filters(FRAME, where="hallucination_flag").collect().height == 1


def test_since_is_inclusive_and_until_exclusive() -> None:
    kept = apply_filters(FRAME, since="2025-12-02", until="2025-12-03T00:00:00Z").collect()
    assert kept["model"].to_list() == ["b"] and kept["latency_ms"].to_list() == [2000.0]


def test_unknown_field_is_named_with_a_suggestion() -> None:
    with pytest.raises(ExpressionError, match=r"modle \(did you mean model\?\)"):
        apply_filters(FRAME, where="modle = 'a'")


def test_unparsable_predicate_and_time_are_usage_errors() -> None:
    with pytest.raises(ExpressionError) as caught:
        apply_filters(FRAME, where="model = = 'a'")
    assert str(caught.value).endswith("  model = = 'a'\n          ^"), caught.value
    with pytest.raises(UsageError, match="--since"):
        parse_time("yesterday", "--since")
    assert parse_time("2025-12-26T10:00:00+02:00", "--since") == datetime(
        2025, 12, 26, 8, tzinfo=UTC)


# --- the expression grammar against DuckDB, the same text on the same records ---------------

RECORDS = pl.DataFrame({
    "id": list(range(8)),
    "model": ["gpt-4.1", "gpt-4o", None, "claude-sonnet-4", "GPT-4.1", "o3", "gpt-4.1", "x_y"],
    "latency_ms": [120.0, 900.5, 40.0, None, 3000.0, 15.0, 700.0, 0.0],
    "input_tokens": [10, 200, None, 35, 7, 0, 1000, 3],
    "hallucination_flag": [True, False, None, True, False, False, True, None],
})

SAME_AS_DUCKDB = [
    "model = 'gpt-4.1' AND latency_ms > 100",
    "model <> 'gpt-4.1' OR latency_ms IS NULL",
    "NOT (latency_ms >= 700) OR input_tokens = 35",
    "model IN ('gpt-4o', 'o3', 'nope')",
    "model NOT IN ('gpt-4o', 'o3')",
    "model LIKE 'gpt%'",
    "model LIKE 'x_y' OR model LIKE '_3'",
    "model ILIKE 'gpt-4.1'",
    "model NOT LIKE '%4%'",
    "latency_ms BETWEEN 15 AND 700",
    "latency_ms NOT BETWEEN 15 AND 700",
    "input_tokens * 2 + 1 > latency_ms / 10",
    "input_tokens % 7 = 0",
    "-latency_ms < -100",
    "hallucination_flag",
    "NOT hallucination_flag",
    "hallucination_flag OR latency_ms > 1000",
    "hallucination_flag AND NOT hallucination_flag",
    "lower(model) = 'gpt-4.1'",
    "upper(model) LIKE 'GPT%' AND length(model) = 7",
    "abs(latency_ms - 1000) < 400",
    "round(latency_ms / 7, 2) > 20.5",
    "coalesce(latency_ms, 1) = 1",
    "model IS NOT NULL AND (input_tokens > 100 OR latency_ms < 50)",
    "TRUE", "NULL IS NULL", "latency_ms = NULL",
    "latency_ms IN (120, 700.0)", "input_tokens IN (10, 35)", "input_tokens IN (10.5, 3)",
    "input_tokens = 10 OR input_tokens = 35 OR model = 'o3' OR model = 'x_y'",
    "NOT (model = 'gpt-4o' OR 'o3' = model)", "latency_ms = 0 OR latency_ms = 15.0",
    "hallucination_flag = TRUE OR hallucination_flag = FALSE",
]


@pytest.mark.parametrize("text", SAME_AS_DUCKDB)
def test_where_keeps_what_duckdb_keeps(text: str) -> None:
    duckdb = pytest.importorskip("duckdb")
    expected = duckdb.sql(f"SELECT id FROM RECORDS WHERE {text} ORDER BY id").fetchall()
    kept = apply_filters(RECORDS.lazy(), where=text).collect()["id"].to_list()
    assert kept == [row[0] for row in expected], text


def test_regex_operators() -> None:
    def ids(text: str) -> list[int]:
        return apply_filters(RECORDS.lazy(), where=text).collect()["id"].to_list()

    assert ids("model ~ '^gpt-4'") == [0, 1, 6]
    assert ids("model ~* '^gpt-4\\.1$'") == [0, 4, 6]
    assert ids("model !~ 'gpt'") == [3, 4, 5, 7]
    assert ids("model REGEXP 'o[0-9]'") == [5]
    with pytest.raises(ExpressionError, match="invalid regular expression"):
        ids("model ~ '(unclosed'")


def test_times_compare_with_dates_in_quotes() -> None:
    kept = apply_filters(FRAME, where="timestamp >= '2025-12-02' AND timestamp < "
                         "'2025-12-03T00:00:00Z'").collect()
    assert kept["model"].to_list() == ["b"]
    with pytest.raises(ExpressionError, match="not a date or time"):
        apply_filters(FRAME, where="timestamp > 'yesterday'")


@pytest.mark.parametrize(("text", "message", "marked"), [
    ("model = \"a\"", "text goes in single quotes: model = 'a'", '"a"'),
    ("latency_ms = 'slow'", "cannot compare a number with text", "latency_ms = 'slow'"),
    ("latency_ms", "must be true or false, but this is a number; compare it", "latency_ms"),
    ("model = 'a' AND", "expected a field, a value or '('", None),
    ("model = 'a' latency_ms > 1", "expected AND, OR or an operator", "latency_ms"),
    ("model = 'unclosed", "never closed", "'unclosed"),
    ("model IN (SELECT 1)", "subqueries are not allowed", "SELECT"),
    ("system('ls') = 0", "unknown function system()", "system"),
    ("model = 'a'; DROP TABLE x", "';' is not allowed", ";"),
    ("round(latency_ms, 2, 3) > 1", "round() takes 1 to 2 argument(s), not 3", None),
    ("model LIKE latency_ms", "pattern must be a string in single quotes", "latency_ms"),
    ("latency_ms > 1e999", "too large to be a finite float", "1e999"),
    ("(" * 80 + "TRUE" + ")" * 80, "nested more than 64 levels deep", None),
    ("   ", "the expression is empty", None),
])
def test_errors_are_in_the_users_terms_with_a_caret(text: str, message: str,
                                                    marked: str | None) -> None:
    with pytest.raises(ExpressionError) as caught:
        apply_filters(FRAME, where=text)
    lines = str(caught.value).split("\n")
    assert message in lines[0], lines
    assert lines[0].startswith("--where: ") and len(lines) == 3, lines
    if marked is not None:
        start = lines[2].index("^")
        assert lines[1][start:start + len(marked)] == marked, lines
        assert lines[2].strip() == "^" * len(marked), lines
