"""The validate benchmark's edits: each is what its label says, for jsonschema and genailog."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import msgspec

from genailog.ingest.validate import validate
from genailog.sample import generate_sample

ROOT = Path(__file__).resolve().parents[1]


def _bench() -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        spec = importlib.util.spec_from_file_location("bench_validate",
                                                      ROOT / "bench" / "bench_validate.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "bench"))


def test_each_edit_gets_its_labelled_verdict_from_jsonschema_and_genailog(tmp_path: Path) -> None:
    bench = _bench()
    clean, edited = tmp_path / "clean.jsonl", tmp_path / "edited.jsonl"
    clean.write_bytes(msgspec.json.Encoder().encode_lines(list(generate_sample(400, 2))))
    injected = bench.inject(clean, edited, 2 * len(bench.EDITS), seed=3)
    labels = {name: valid for name, valid, _ in bench.EDITS}
    assert sorted(set(injected.values())) == sorted(labels)
    lines = edited.read_bytes().splitlines()
    reference = bench.Reference()
    for number, name in injected.items():
        assert reference.valid(lines[number - 1]) is labels[name], name
    flagged = {e["line"] for e in validate([edited], max_errors=None).to_dict()["errors"]}
    assert flagged == {n for n, name in injected.items() if not labels[name]}
    differ, compared = bench.compare(edited, None, flagged, reference)
    assert differ == [] and compared == 400
