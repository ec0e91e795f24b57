"""The official JSON Schema Test Suite (draft 2020-12) through ``genailog validate --schema``.

Every case whose instance is a JSON object is written, one instance per line, to one
JSONL file per case group (one schema), and the group runs once through
``genailog validate --schema SCHEMA FILE --format json`` via CliRunner. Each instance's
verdict must equal the suite's expected ``valid`` and jsonschema's Draft202012Validator
(format checking on), record for record. Instances that are not objects (strings,
numbers, arrays, ...) are not log records and are left out.

What is run, and what is not (each list is checked by a test, so none can go stale):

* ``tests/draft2020-12/*.json`` (the required suite): every group with an object
  instance, except the :data:`REMOTE_SKIPS` (they need the suite's ``remotes/`` served at
  ``http://localhost:1234``; this copy of the suite has no ``remotes/``, and tests are
  offline) and :data:`PYTHON_REGEX_GAPS` (see below).
* ``tests/draft2020-12/optional/**`` including ``optional/format/*``: every group with an
  object instance, except remote and regex ones as above. genailog must equal jsonschema on
  every case; it must equal the suite's expectation except in :data:`JSONSCHEMA_DIFFERS`,
  the optional groups where jsonschema itself does not follow the suite (draft-7
  ``dependencies`` is not a 2020-12 keyword for jsonschema; Python's ``\\w`` and ``\\d``
  match Unicode). Note that for object instances the ``optional/format`` groups only check
  that string formats ignore objects.
* :data:`PYTHON_REGEX_GAPS`: schemas whose patterns use ECMA-262 ``\\p{...}`` escapes, which
  Python's ``re`` (and so jsonschema) cannot compile. There is no jsonschema verdict to
  match; genailog must refuse the schema as a usage error (exit 2) with a clear message,
  and a test asserts exactly that.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from genailog.cli.app import app

# Vendored (MIT licence, see its LICENSE and SOURCE for the upstream commit), so the tests
# run on any clone.
SUITE = Path(__file__).resolve().parent / "fixtures" / "json-schema-test-suite"
CASES = SUITE / "tests" / "draft2020-12"

_REMOTES = "served from the suite's remotes/ at http://localhost:1234"
#: Groups that need the suite's remote documents, and which document.
REMOTE_SKIPS: dict[str, str] = {
    "dynamicRef.json :: strict-tree schema, guards against misspelled properties":
        f"$ref to tree.json, {_REMOTES}",
    "dynamicRef.json :: tests for implementation dynamic anchor and reference link":
        f"$ref to extendible-dynamic-ref.json, {_REMOTES}",
    "dynamicRef.json :: $ref and $dynamicAnchor are independent of order - $defs first":
        f"$ref to extendible-dynamic-ref.json, {_REMOTES}",
    "dynamicRef.json :: $ref and $dynamicAnchor are independent of order - $ref first":
        f"$ref to extendible-dynamic-ref.json, {_REMOTES}",
    "refRemote.json :: base URI change - change folder":
        f"$ref to baseUriChangeFolder/folderInteger.json, {_REMOTES}",
    "refRemote.json :: base URI change - change folder in subschema":
        f"$ref to baseUriChangeFolderInSubschema/folderInteger.json, {_REMOTES}",
    "refRemote.json :: root ref in remote ref":
        f"$ref to name-defs.json, {_REMOTES}",
    "refRemote.json :: remote ref with ref to defs":
        f"$ref to schema-remote-ref-ref-defs1.json / ref-and-defs.json, {_REMOTES}",
    "refRemote.json :: retrieved nested refs resolve relative to their URI not $id":
        f"$ref to nested/foo-ref-string.json, {_REMOTES}",
    "vocabulary.json :: schema that uses custom metaschema with with no validation vocabulary":
        f"$schema is draft2020-12/metaschema-no-validation.json, {_REMOTES}",
}  # fmt: skip

#: Schemas Python's ``re`` cannot compile (ECMA-262 Unicode property escapes).
PYTHON_REGEX_GAPS: dict[str, str] = {
    "patternProperties.json :: patternProperties with Unicode property escape":
        "pattern uses \\p{Letter}; Python's re has no \\p escapes",
    "optional/ecmascript-regex.json :: patterns always use unicode semantics with "
    "patternProperties": "pattern uses \\p{Letter}; Python's re has no \\p escapes",
    "optional/ecmascript-regex.json :: patternProperties with non-ASCII digits":
        "pattern uses \\p{digit}; Python's re has no \\p escapes",
}  # fmt: skip

#: Optional groups where jsonschema's verdict is not the suite's (genailog follows jsonschema).
JSONSCHEMA_DIFFERS: dict[str, str] = {
    **{f"optional/dependencies-compatibility.json :: {name}":
       "draft-7 'dependencies' is not a 2020-12 keyword in jsonschema"
       for name in ("single dependency", "multiple dependents required",
                    "dependencies with escaped characters", "single schema dependency",
                    "boolean subschemas", "schema dependencies with escaped characters")},
    "optional/ecmascript-regex.json :: \\w in patternProperties matches [A-Za-z0-9_], not "
    "unicode letters": "Python's \\w matches Unicode letters",
    "optional/ecmascript-regex.json :: \\d in patternProperties matches [0-9], not unicode "
    "digits": "Python's \\d matches Unicode digits",
}  # fmt: skip


@dataclass(frozen=True)
class Group:
    """One schema of the suite with its object instances: (description, data, valid)."""

    file: str
    description: str
    schema: Any
    tests: tuple[tuple[str, dict[str, Any], bool], ...]

    @property
    def key(self) -> str:
        return f"{self.file} :: {self.description}"

    @property
    def optional(self) -> bool:
        return self.file.startswith("optional/")


def _groups() -> Iterator[Group]:
    for path in sorted(CASES.rglob("*.json")):
        rel = path.relative_to(CASES).as_posix()
        for group in json.loads(path.read_text(encoding="utf-8")):
            tests = tuple((t["description"], t["data"], t["valid"]) for t in group["tests"]
                          if isinstance(t["data"], dict))
            if tests:
                yield Group(rel, group["description"], group["schema"], tests)


@pytest.fixture(scope="module")
def groups() -> list[Group]:
    assert CASES.is_dir(), (
        f"the JSON Schema Test Suite is missing: expected it at {SUITE} "
        "(vendored under tests/fixtures/json-schema-test-suite)"
    )
    return list(_groups())


class _Remote(Exception):
    pass


def _refuse(uri: str) -> referencing.Resource[Any]:
    raise _Remote(uri)


def _jsonschema_verdicts(group: Group) -> list[bool]:
    """jsonschema's verdicts, never reaching the network (remote refs raise)."""
    registry: referencing.Registry[Any] = referencing.Registry(retrieve=_refuse)
    validator = Draft202012Validator(group.schema, registry=registry,
                                     format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [validator.is_valid(data) for _, data, _ in group.tests]


def _needs_remote(group: Group) -> bool:
    schema_uri = group.schema.get("$schema", "") if isinstance(group.schema, dict) else ""
    if "localhost:1234" in schema_uri:
        return True  # a custom metaschema; jsonschema would not even try to fetch it
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _jsonschema_verdicts(group)
    except jsonschema.exceptions._WrappedReferencingError:
        return True
    except Exception:  # e.g. a pattern Python cannot compile: not a remote case
        return False
    return False


def _run(tmp_path: Path, group: Group) -> tuple[int, dict[str, Any] | None, str]:
    schema, data = tmp_path / "schema.json", tmp_path / "cases.jsonl"
    schema.write_text(json.dumps(group.schema), encoding="utf-8")
    data.write_text("".join(json.dumps(d) + "\n" for _, d, _ in group.tests), encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", "--schema", str(schema), str(data),
                                      "--format", "json", "--max-errors", "1000000"])
    printed = json.loads(result.stdout) if result.exit_code in (0, 1) else None
    return result.exit_code, printed, result.output


def _genailog_verdicts(tmp_path: Path, group: Group) -> list[bool]:
    code, printed, output = _run(tmp_path, group)
    assert printed is not None, f"{group.key}: exit {code}: {output}"
    invalid_lines = {error["line"] for error in printed["errors"]}
    assert printed["records"] == len(group.tests), group.key
    assert printed["invalid"] == len(invalid_lines), group.key
    assert code == (1 if invalid_lines else 0), group.key
    return [line not in invalid_lines for line in range(1, len(group.tests) + 1)]


def _mismatches(tmp_path: Path, groups: list[Group], *, optional: bool) -> tuple[list[str], int]:
    problems, checked = [], 0
    for index, group in enumerate(g for g in groups if g.optional == optional):
        if group.key in REMOTE_SKIPS or group.key in PYTHON_REGEX_GAPS:
            continue
        folder = tmp_path / str(index)
        folder.mkdir()
        ours, theirs = _genailog_verdicts(folder, group), _jsonschema_verdicts(group)
        follows_suite = group.key not in JSONSCHEMA_DIFFERS
        for (name, _, expected), mine, reference in zip(group.tests, ours, theirs, strict=True):
            checked += 1
            if mine != reference or (follows_suite and mine != expected):
                problems.append(f"{group.key} :: {name}: genailog {mine}, jsonschema "
                                f"{reference}, suite {expected}")
    return problems, checked


def test_the_suite_is_present() -> None:
    assert (CASES / "type.json").is_file(), f"JSON Schema Test Suite not found at {SUITE}"


def test_required_suite_cases_match_the_suite_and_jsonschema(
    tmp_path: Path, groups: list[Group]
) -> None:
    problems, checked = _mismatches(tmp_path, groups, optional=False)
    assert problems == []
    assert checked > 400  # 426 such cases in the suite copy this was written against


def test_optional_cases_match_jsonschema_and_the_suite_where_jsonschema_does(
    tmp_path: Path, groups: list[Group]
) -> None:
    problems, checked = _mismatches(tmp_path, groups, optional=True)
    assert problems == []
    assert checked > 60  # 77 such cases


def test_remote_skips_are_exactly_the_cases_that_need_remotes(groups: list[Group]) -> None:
    assert {g.key for g in groups if _needs_remote(g)} == set(REMOTE_SKIPS)


def test_jsonschema_differs_list_is_exactly_where_jsonschema_disagrees(
    groups: list[Group],
) -> None:
    differs = set()
    for group in groups:
        if group.optional and group.key not in REMOTE_SKIPS | PYTHON_REGEX_GAPS.keys():
            expected = [valid for _, _, valid in group.tests]
            if _jsonschema_verdicts(group) != expected:
                differs.add(group.key)
    assert differs == set(JSONSCHEMA_DIFFERS)
    assert all(k.startswith("optional/") for k in JSONSCHEMA_DIFFERS)


def test_schemas_python_cannot_compile_are_usage_errors(
    tmp_path: Path, groups: list[Group]
) -> None:
    gaps = [g for g in groups if g.key in PYTHON_REGEX_GAPS]
    assert {g.key for g in gaps} == set(PYTHON_REGEX_GAPS)
    for index, group in enumerate(gaps):
        with pytest.raises(jsonschema.SchemaError):
            Draft202012Validator.check_schema(group.schema)
        folder = tmp_path / str(index)
        folder.mkdir()
        code, _, output = _run(folder, group)
        assert code == 2, f"{group.key}: {output}"
        assert "not a valid JSON Schema" in output, output
