"""docs/schema.md is generated from the record schema and must stay in step with it."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from genailog.schema.docs import describe_type, render_schema_docs
from genailog.schema.files import load_record_schema

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "schema.md"


def test_docs_schema_md_is_up_to_date_with_the_schema() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_schema_docs(load_record_schema()), (
        "docs/schema.md is stale: run python scripts/gen_schema_docs.py"
    )


def test_every_field_has_a_row_with_meaning_example_and_unit() -> None:
    schema = load_record_schema()
    text = DOCS.read_text(encoding="utf-8")
    for name, spec in schema["properties"].items():
        rows = [line for line in text.splitlines() if line.startswith(f"| `{name}` |")]
        assert len(rows) == 1, name
        assert spec["description"] in rows[0]
        assert spec.get("x-unit", "") in rows[0]
        assert "`" + json.dumps(spec["examples"][0], ensure_ascii=False) + "`" in rows[0]


def test_the_token_semantics_are_explained() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert "**including** `cached_input_tokens`" in text
    assert "`reasoning_tokens <= output_tokens`" in text
    assert "additionalProperties: true" in text


def test_a_new_schema_field_without_a_docs_group_is_refused() -> None:
    schema: dict[str, Any] = copy.deepcopy(load_record_schema())
    schema["properties"]["brand_new"] = {"type": "string", "description": "x"}
    with pytest.raises(ValueError, match="brand_new"):
        render_schema_docs(schema)


@pytest.mark.parametrize(("spec", "expected"), [
    ({"type": ["integer", "null"], "minimum": 0}, "integer >= 0, or null"),
    ({"type": "string", "format": "date-time"}, "string (date-time)"),
    ({"type": ["string", "null"], "enum": ["ok", None]}, 'string; one of "ok", or null'),
    ({"type": ["array", "null"], "items": {"type": "number"}}, "array of numbers, or null"),
    ({"type": "object", "additionalProperties": {"type": "number"}},
     "object of name to number"),
    ({}, "any"),
])  # fmt: skip
def test_describe_type_reads_types_and_constraints(spec: dict[str, Any], expected: str) -> None:
    assert describe_type(spec) == expected


def test_the_script_check_mode_passes_on_the_committed_docs() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_schema_docs.py"),
                             "--check"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


def test_docs_formats_md_lists_every_registered_format_with_its_field_names() -> None:
    from genailog.ingest.formats import REGISTRY
    from genailog.ingest.formats.docs import splice

    page = (ROOT / "docs" / "formats.md").read_text(encoding="utf-8")
    assert page == splice(page), "docs/formats.md is stale: run python scripts/gen_format_docs.py"
    for entry in REGISTRY:
        assert f"| `{entry.name}` |" in page
