"""The checks a command's result holds, one wording per event.

A check is one verdict a reviewer reads: a gate on one group, a diff-prompts metric, a
drift window's feature, the invalid records of one file. JUnit test cases, GitHub
annotations and the terminal's failure lines are all made from these, so the same event
is said the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    """One verdict: ``status`` is ``passed``, ``failed`` or ``skipped`` (not judged)."""

    suite: str
    name: str
    status: str
    message: str = ""
    detail: str = ""
    file: str | None = None
    line: int | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def gate_failure(expression: str, failure: dict[str, Any]) -> str:
    """``gate failed: EXPR for LABEL (reason)``: the one wording of a failed gate row."""
    reason = failure.get("reason") or "condition true"
    return f"gate failed: {expression} for {failure['label']} ({reason})"


def gate_lines(gate: dict[str, Any]) -> list[str]:
    """``gate passed: EXPR``, or one :func:`gate_failure` line per failed row."""
    if gate["passed"]:
        return [f"gate passed: {gate['expression']}"]
    return [gate_failure(gate["expression"], failure) for failure in gate["failed"]]


def gate_checks(data: dict[str, Any], command: str) -> Iterator[Check]:
    """Each gate x group (the total row included): summarize, traces."""
    labels = _row_labels(data)
    for gate in data.get("gates") or []:
        failed = {f["label"]: f for f in gate["failed"]}
        for label in labels or list(failed) or ["total"]:
            failure = failed.get(label)
            yield Check(f"genailog {command} gates", f"{gate['expression']} [{label}]",
                        "failed" if failure else "passed",
                        gate_failure(gate["expression"], failure) if failure else "")


def _row_labels(data: dict[str, Any]) -> list[str]:
    """The labels the gates use for summarize's groups and total row (see analysis.gates)."""
    if "groups" not in data or "total" not in data:
        return []
    keys = (["window"] if data.get("window") else []) + list(data.get("by") or [])
    if not keys:
        return ["total"]
    labels = [", ".join(f"{k}={g[k]}" for k in keys) for g in data["groups"]]
    return [*labels, "total"]


def diff_checks(data: dict[str, Any], fail_on_insufficient: bool = False) -> Iterator[Check]:
    """Each diff-prompts metric: a regression fails; a metric not tested is skipped."""
    suite = f"genailog diff-prompts {data.get('baseline')} -> {data.get('candidate')}"
    for row in data["metrics"]:
        name = row["metric"] if row["statistic"] == "rate" else \
            f"{row['metric']} {row['statistic']}"
        if row["regression"]:
            yield Check(suite, name, "failed", diff_regression(row), _diff_detail(row))
        elif row.get("p_value") is None and row.get("note"):
            status = "failed" if fail_on_insufficient else "skipped"
            yield Check(suite, name, status, f"{name}: not judged: {row['note']}")
        else:
            yield Check(suite, name, "passed", "", _diff_detail(row))


def diff_regression(row: dict[str, Any]) -> str:
    """``regression: latency_ms p50 3.1 -> 4.2 (+35.5%), p adj 0.001``."""
    name = row["metric"] if row["statistic"] == "rate" else f"{row['metric']} {row['statistic']}"
    pct = "" if row.get("delta_pct") is None else f" ({row['delta_pct']:+.1f}%)"
    p = "" if row.get("p_adjusted") is None else f", p adj {row['p_adjusted']:.3g}"
    return f"regression: {name} {_num(row['baseline'])} -> {_num(row['candidate'])}{pct}{p}"


def _diff_detail(row: dict[str, Any]) -> str:
    return (f"test {row.get('test')}, n {row.get('n_baseline')}/{row.get('n_candidate')}, "
            f"direction {row.get('direction')}")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def drift_checks(data: dict[str, Any]) -> Iterator[Check]:
    """Each drift window x feature: drifted fails; a window too small is skipped."""
    for window in data["windows"]:
        suite = f"genailog drift window {window['start']}"
        if not window["judged"]:
            yield Check(suite, "window", "skipped",
                        f"window {window['start']}: {window['records']:,} records, too few to "
                        "judge")
            continue
        for feature in window["features"]:
            yield _feature_check(suite, window, feature)


def _feature_check(suite: str, window: dict[str, Any], feature: dict[str, Any]) -> Check:
    name = feature["feature"]
    if not feature.get("judged", True) or feature.get("score") is None:
        return Check(suite, name, "skipped", f"{name}: not judged")
    if feature["drifted"]:
        method = feature.get("method") or "score"
        return Check(suite, name, "failed", drift_failure(window, feature),
                     f"{name} ({method} {feature['score']:.3g})")
    return Check(suite, name, "passed", "", str(feature.get("summary") or ""))


def drift_failure(window: dict[str, Any], feature: dict[str, Any]) -> str:
    """``drift: latency_ms in window 2026-01-03T00:00:00Z (psi 0.41): summary``."""
    method = feature.get("method") or "score"
    summary = f": {feature['summary']}" if feature.get("summary") else ""
    return (f"drift: {feature['feature']} in window {window['start']} "
            f"({method} {feature['score']:.3g}){summary}")


def validate_checks(data: dict[str, Any], first: int = 3) -> Iterator[Check]:
    """The invalid records of each file as one check (count, then the first lines)."""
    counts: dict[str, int] = dict(data.get("invalid_by_file") or {})
    listed: dict[str, list[dict[str, Any]]] = {}
    for error in data["errors"]:
        listed.setdefault(error["file"], []).append(error)
        if not data.get("invalid_by_file"):
            counts[error["file"]] = counts.get(error["file"], 0) + 1
    for file in data.get("files") or []:
        if file not in counts:
            yield Check("genailog validate", file, "passed", file=file)
    for file, count in counts.items():
        errors = listed.get(file, [])
        head = "; ".join(f"line {e['line']}: {e['path'] + ': ' if e['path'] else ''}"
                         f"{e['message']}" for e in errors[:first])
        more = " ..." if count > first else ""
        yield Check("genailog validate", file, "failed",
                    f"{count:,} invalid record(s) in {file}" + (f"; first: {head}{more}"
                                                              if head else ""),
                    "\n".join(f"{e['file']}:{e['line']}: {e['path'] or '-'}: {e['message']}"
                              for e in errors),
                    file=file, line=errors[0]["line"] if errors else None)


#: command -> the checks its result holds (commands without checks have none).
CHECKS: dict[str, Callable[[dict[str, Any]], Iterator[Check]]] = {
    "summarize": lambda data: gate_checks(data, "summarize"),
    "traces": lambda data: gate_checks(data, "traces"),
    "diff-prompts": diff_checks,
    "drift": drift_checks,
    "validate": validate_checks,
}


def checks_of(command: str, data: dict[str, Any]) -> list[Check]:
    """Every check of ``command``'s result, in the order a reviewer reads them."""
    maker = CHECKS.get(command)
    return [] if maker is None else list(maker(data))
