"""The record schema is encoded several ways (the JSON Schema, polars dtypes, the msgspec
twin, the alias table's canonical names); each is checked here field by field against the
JSON Schema, which is the one source of truth."""

from __future__ import annotations

from typing import Any

import msgspec
import polars as pl

from genailog.ingest.context import MAPPABLE
from genailog.ingest.formats.aliases import FIELDS
from genailog.schema.columns import CANONICAL_DTYPES, JSON_TEXT_COLUMNS, REQUIRED_FIELDS
from genailog.schema.fastcheck import OpenRecord
from genailog.schema.files import load_record_schema

SCHEMA = load_record_schema()
PROPERTIES: dict[str, Any] = SCHEMA["properties"]


def _types(spec: dict[str, Any]) -> set[str]:
    kinds = spec.get("type")
    if kinds is None:
        kinds = [t for option in spec.get("anyOf", spec.get("oneOf", []))
                 for t in ([option["type"]] if isinstance(option.get("type"), str)
                           else option.get("type", []))]
    return {kinds} if isinstance(kinds, str) else set(kinds)


def _dtype_fits(dtype: pl.DataType, kinds: set[str], name: str) -> bool:
    kinds = kinds - {"null"}
    if name in JSON_TEXT_COLUMNS:
        return dtype == pl.String and bool(kinds & {"object", "array"})
    if name == "timestamp":
        return isinstance(dtype, pl.Datetime) and kinds == {"string"}
    if name == "prompt_version":
        return dtype == pl.String and kinds <= {"string", "integer"}
    if dtype == pl.String:
        return kinds == {"string"}
    if dtype == pl.Int64:
        return kinds == {"integer"}
    if dtype == pl.Float64:
        return kinds <= {"number", "integer"} and "number" in kinds
    if dtype == pl.Boolean:
        return kinds == {"boolean"}
    if isinstance(dtype, pl.List):
        return kinds == {"array"}
    return False


def test_every_schema_field_has_a_column_of_its_type_and_no_column_is_extra() -> None:
    assert set(CANONICAL_DTYPES) == set(PROPERTIES)
    for name, spec in PROPERTIES.items():
        assert _dtype_fits(CANONICAL_DTYPES[name], _types(spec), name), (name, spec)
    assert set(REQUIRED_FIELDS) == set(SCHEMA["required"])


def test_the_msgspec_twin_has_every_field_and_requires_what_the_schema_requires() -> None:
    info = msgspec.inspect.type_info(OpenRecord)
    assert isinstance(info, msgspec.inspect.StructType)
    fields = {f.name: f for f in info.fields}
    assert set(fields) == set(PROPERTIES)
    assert {n for n, f in fields.items() if f.required} == set(SCHEMA["required"])


def test_alias_table_and_map_option_name_only_schema_fields() -> None:
    assert {f.name for f in FIELDS} <= set(PROPERTIES)
    assert set(MAPPABLE) <= set(PROPERTIES)


def test_every_version_1_record_is_a_version_2_record() -> None:
    """The schema's versions only add: v1's fields keep their meaning, required stays
    required, and v1 files read as before (schemas/genailog.record.v1.schema.json is kept
    as it was released)."""
    import json
    from pathlib import Path

    from jsonschema import Draft202012Validator

    root = Path(__file__).parents[1] / "schemas"
    v1 = json.loads((root / "genailog.record.v1.schema.json").read_text(encoding="utf-8"))
    assert SCHEMA["$id"].endswith("genailog.record.v2.schema.json")
    assert set(v1["properties"]) <= set(PROPERTIES)
    assert v1["required"] == SCHEMA["required"]
    sample = Path(__file__).parents[1] / "sample_logs" / "week1.jsonl"
    records = [json.loads(line) for line in sample.read_text(encoding="utf-8").splitlines()]
    old, new = Draft202012Validator(v1), Draft202012Validator(SCHEMA)
    v1_valid = [r for r in records if old.is_valid(
        {k: v for k, v in r.items() if k != "sample_rate"})]
    assert len(v1_valid) > 1000
    assert all(new.is_valid(r) for r in v1_valid)
