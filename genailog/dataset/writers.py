"""Dataset writers: canonical JSONL, OpenAI chat and evals, promptfoo tests, safe CSV, Parquet.

Every writer takes a frame in canonical columns and writes one file through
``outputs.atomic_writer`` (temporary file, then rename), so an interrupted export never
leaves half a dataset. Output is a pure function of the frame: same frame, same bytes.

Formats built from conversations (openai-chat, openai-evals, promptfoo) decide per record
whether it forms a valid example; :func:`usable_mask` says which records do, so the
exporter can count the others instead of writing them broken.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import msgspec
import numpy as np
import polars as pl

from genailog.outputs import atomic_writer
from genailog.textsafe import FORMULA_START

FORMATS: tuple[str, ...] = ("jsonl", "openai-chat", "openai-evals", "promptfoo", "csv", "parquet")
#: Formats that hold conversations rather than whole records.
EXAMPLE_FORMATS: frozenset[str] = frozenset({"openai-chat", "openai-evals", "promptfoo"})
EXTENSIONS: dict[str, str] = {
    "jsonl": ".jsonl", "openai-chat": ".jsonl", "openai-evals": ".jsonl",
    "promptfoo": ".yaml", "csv": ".csv", "parquet": ".parquet",
}  # fmt: skip

CHAT_ROLES: frozenset[str] = frozenset({"system", "user", "assistant"})
_CHUNK_ROWS = 50_000

# ---------------------------------------------------------------- JSON values in polars


def _json_key(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


def json_value(name: str, dtype: pl.DataType, json_columns: frozenset[str]) -> pl.Expr:
    """The JSON text of column ``name``'s value (null stays null)."""
    col = pl.col(name)
    if name in json_columns:
        return col  # already JSON text, written back as a JSON value
    if isinstance(dtype, pl.Datetime):
        return pl.lit('"') + rfc3339(col) + pl.lit('"')
    prefix = "{" + _json_key(name) + ":"
    encoded = pl.struct(col).struct.json_encode().str.strip_prefix(prefix).str.strip_suffix("}")
    return pl.when(col.is_null()).then(None).otherwise(encoded)


def rfc3339(col: pl.Expr) -> pl.Expr:
    """UTC timestamps as RFC 3339 text with a ``Z`` (fraction only when there is one)."""
    return col.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ")


_FIRST = "__genailog_first__"


def jsonl_lines(frame: pl.DataFrame, json_columns: frozenset[str]) -> pl.Series:
    """One canonical JSON object per record; null fields are left out (null = not logged).

    Polars encodes the plain fields in one pass and a regex drops the ``,"key":null``
    members of the fields that have nulls: that is safe because inside a JSON string
    every quote is escaped, so ``,"key":null`` can only be structure. When the first
    field may be null, a constant first member is encoded and removed after, so every
    real member follows a comma.
    JSON-text columns are appended as raw JSON values.
    """
    nulls = dict(zip(frame.columns, frame.null_count().row(0), strict=True))
    present = [c for c in frame.columns if nulls[c] < frame.height]
    if not present:
        return pl.Series("line", ["{}"] * frame.height, dtype=pl.String)
    plain = [c for c in present if c not in json_columns]
    values = [rfc3339(pl.col(c)).alias(c) if isinstance(frame.schema[c], pl.Datetime)
              else pl.col(c) for c in plain]
    dummy = not plain or nulls[plain[0]] > 0
    body = pl.struct([pl.lit(0).alias(_FIRST)] * dummy + values).struct.json_encode()
    nullable = [c for c in plain if nulls[c]]
    if nullable:  # a literal alternation of the keys is far faster than a key pattern
        keys = "|".join(re.escape(_json_key(c)) for c in nullable)
        body = body.str.replace_all(f",(?:{keys}):null", "")
    fragments = [pl.lit("," + _json_key(c) + ":") + pl.col(c)
                 for c in present if c in json_columns]
    line = pl.concat_str([body.str.strip_suffix("}"), *fragments, pl.lit("}")],
                         ignore_nulls=True)
    if dummy:
        first = "{" + _json_key(_FIRST) + ":0"
        line = pl.lit("{") + line.str.strip_prefix(first).str.strip_prefix(",")
    return frame.select(line.alias("line")).to_series()


def _write_lines(handle: IO[Any], lines: Iterator[str]) -> int:
    count = 0
    for line in lines:
        handle.write(line)
        handle.write("\n")
        count += 1
    return count


def write_jsonl(
    frame: pl.DataFrame, path: Path, json_columns: frozenset[str], *, overwrite: bool
) -> int:
    """Canonical records, user fields included, JSON-text columns as JSON values.

    Chunks are encoded on a few threads (polars releases the GIL) and written in order.
    """
    starts = list(range(0, frame.height, _CHUNK_ROWS))
    workers = min(4, os.cpu_count() or 1)
    with atomic_writer(path, "wb", overwrite=overwrite) as handle, \
            ThreadPoolExecutor(max_workers=workers) as pool:
        for batch in range(0, len(starts), workers):
            chunks = [frame.slice(s, _CHUNK_ROWS) for s in starts[batch:batch + workers]]
            for lines in pool.map(lambda c: jsonl_lines(c, json_columns), chunks):
                # One string column written raw: JSON lines hold no newline, need no quoting.
                lines.to_frame().write_csv(handle, include_header=False, quote_style="never")
    return frame.height


# ---------------------------------------------------------------- conversations

Message = dict[str, str]
_EXAMPLE_COLUMNS = ("messages", "system_prompt", "prompt", "response")


def conversation(
    messages: list[dict[str, Any]] | None,
    system_prompt: str | None,
    prompt: str | None,
    response: str | None,
) -> list[Message] | None:
    """The chat of one record, ending with the assistant's answer, or None if it has none.

    Built from ``messages`` (plus ``response`` when the messages stop before the answer, and
    ``system_prompt`` when they hold no system message), else from ``system_prompt`` +
    ``prompt`` + ``response``.
    """
    chat: list[dict[str, Any]]
    if messages:
        chat = [{"role": m.get("role"), "content": m.get("content")} for m in messages]
        if system_prompt and all(m["role"] != "system" for m in chat):
            chat.insert(0, {"role": "system", "content": system_prompt})
        if response is not None and chat[-1]["role"] != "assistant":
            chat.append({"role": "assistant", "content": response})
    else:
        chat = [{"role": "system", "content": system_prompt}] if system_prompt else []
        chat += [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
    return chat if _valid_chat(chat) else None


def _valid_chat(chat: Sequence[dict[str, Any]]) -> bool:
    user = False
    for message in chat:
        content, role = message["content"], message["role"]
        if role not in CHAT_ROLES or not isinstance(content, str) or not content.strip():
            return False
        user = user or role == "user"
    return user and chat[-1]["role"] == "assistant"


def conversations(frame: pl.DataFrame) -> list[list[Message] | None]:
    """:func:`conversation` for every record of ``frame``."""
    rows = frame.select(_EXAMPLE_COLUMNS).iter_rows()
    return [conversation(*row) for row in rows]


#: A character that Python's ``str.strip()`` keeps: Rust's ``\s`` is Unicode White_Space,
#: and ``str.isspace`` adds U+001C..U+001F (a test checks every code point).
_NOT_BLANK = r"[^\s\x1c-\x1f]"


def usable_mask(frame: pl.DataFrame, fmt: str) -> pl.Series:
    """Which records can form an example of format ``fmt`` (all of them for record formats).

    Records without messages are decided in polars, by the rule :func:`conversation`
    applies to them; records with messages go through :func:`conversation` itself."""
    if fmt not in EXAMPLE_FORMATS:
        return pl.Series("usable", [True] * frame.height, dtype=pl.Boolean)
    system = pl.col("system_prompt")
    plain = (pl.col("prompt").str.contains(_NOT_BLANK)
             & pl.col("response").str.contains(_NOT_BLANK)
             & (system.is_null() | (system == "") | system.str.contains(_NOT_BLANK)))
    with_messages = pl.col("messages").list.len().fill_null(0) > 0
    flags = frame.select(plain.fill_null(False).alias("plain"), with_messages.alias("chat"))
    usable = flags.get_column("plain").to_numpy().copy()
    rows = np.flatnonzero(flags.get_column("chat").to_numpy())
    if len(rows):
        usable[rows] = [c is not None for c in conversations(frame[rows])]
    return pl.Series("usable", usable, dtype=pl.Boolean)


_ENCODER = msgspec.json.Encoder()


def _dumps(value: Any) -> str:
    """Compact JSON, non-ASCII kept (what ``json.dumps(ensure_ascii=False)`` with compact
    separators gives, byte for byte, five times as fast)."""
    return _ENCODER.encode(value).decode()


def openai_chat_line(chat: list[Message]) -> str:
    return _dumps({"messages": chat})


def openai_evals_line(chat: list[Message]) -> str:
    """The OpenAI evals sample: the conversation up to the answer, and the answer as ideal."""
    return _dumps({"input": chat[:-1], "ideal": chat[-1]["content"]})


#: Record fields copied into a promptfoo test's metadata, for filtering in promptfoo.
PROMPTFOO_METADATA = ("model", "prompt_id", "prompt_version", "request_id")
#: What a promptfoo test does with a logged answer judged bad: ``omit`` writes no
#: assertion built from it, ``not-similar`` asserts the new answer is unlike it.
BAD_ANSWER_POLICIES: tuple[str, ...] = ("omit", "not-similar")
SIMILAR_THRESHOLD = 0.8


@dataclass(frozen=True)
class BadAnswers:
    """When a logged answer counts as judged bad, and what a promptfoo test does with it:
    ``hallucination_flag`` true, or ``feedback_rating`` at or below ``rating_at_most``
    (the application's scale; 2 suits 1-5 stars, 0 suits thumbs 0/1)."""

    policy: str = "omit"
    rating_at_most: float = 2.0

    def reasons(self, frame: pl.DataFrame) -> list[str | None]:
        """Per record, why its answer was judged bad, or None."""
        flag = frame.get_column("hallucination_flag").to_list() \
            if "hallucination_flag" in frame.columns else [None] * frame.height
        rating = frame.get_column("feedback_rating").to_list() \
            if "feedback_rating" in frame.columns else [None] * frame.height
        return [self._reason(f, r) for f, r in zip(flag, rating, strict=True)]

    def _reason(self, flag: Any, rating: Any) -> str | None:
        if flag is True:
            return "hallucination_flag"
        if isinstance(rating, int | float) and rating <= self.rating_at_most:
            return f"feedback_rating {rating:g} <= {self.rating_at_most:g}"
        return None


def promptfoo_line(
    chat: list[Message], metadata: dict[str, Any], extra_vars: dict[str, Any],
    bad: str | None = None, policy: str = "omit",
) -> str:
    """One promptfoo test case as a YAML flow mapping (JSON is valid YAML).

    ``vars.prompt`` is the last user message, ``vars.system_prompt`` the system message;
    the logged answer is the expected output, checked with promptfoo's ``similar``
    assertion, because an exact ``equals`` fails on any rewording by the model. An answer
    judged bad (``bad`` says why) is never the expected output: ``policy`` ``omit`` leaves
    the assertion out, ``not-similar`` asserts the opposite; ``metadata.judged_bad`` says why.
    """
    user = [m["content"] for m in chat if m["role"] == "user"][-1]
    system = [m["content"] for m in chat if m["role"] == "system"]
    variables: dict[str, Any] = {"prompt": user, **({"system_prompt": system[0]} if system else {})}
    variables.update(extra_vars)
    answer = chat[-1]["content"]
    kind = "similar" if bad is None else policy
    test: dict[str, Any] = {"vars": variables}
    if kind != "omit":
        test["assert"] = [{"type": kind, "value": answer, "threshold": SIMILAR_THRESHOLD}]
    test["metadata"] = {**{k: v for k, v in metadata.items() if v is not None},
                        **({"judged_bad": bad} if bad is not None else {})}
    return "- " + _dumps(test)


def write_examples(
    frame: pl.DataFrame,
    path: Path,
    fmt: str,
    *,
    overwrite: bool,
    extra_vars: Sequence[str] = (),
    bad_answers: BadAnswers | None = None,
) -> int:
    """openai-chat, openai-evals or promptfoo examples; invalid records are skipped here and
    must have been counted by the caller through :func:`usable_mask`."""
    chats = conversations(frame)
    meta_cols = [c for c in PROMPTFOO_METADATA if c in frame.columns]
    metas = frame.select(meta_cols).to_dicts() if fmt == "promptfoo" else []
    extras = frame.select(extra_vars).to_dicts() if extra_vars else [{}] * frame.height
    bad = bad_answers or BadAnswers()
    reasons = bad.reasons(frame) if fmt == "promptfoo" else []
    line: Callable[[int, list[Message]], str] = {
        "openai-chat": lambda i, chat: openai_chat_line(chat),
        "openai-evals": lambda i, chat: openai_evals_line(chat),
        "promptfoo": lambda i, chat: promptfoo_line(chat, metas[i], extras[i], reasons[i],
                                                    bad.policy),
    }[fmt]
    with atomic_writer(path, overwrite=overwrite) as handle:
        if fmt == "promptfoo":
            handle.write("# promptfoo tests file, written by genailog export-dataset\n")
            judged = sum(r is not None for r, c in zip(reasons, chats, strict=True)
                         if c is not None)
            if judged:
                handle.write(f"# {judged} test(s) come from answers judged bad "
                             "(metadata.judged_bad): " + (
                                 "no assertion built from them" if bad.policy == "omit"
                                 else "asserted not-similar to them") + "\n")
        lines = (line(i, chat) for i, chat in enumerate(chats) if chat is not None)
        return _write_lines(handle, lines)


# ---------------------------------------------------------------- CSV and Parquet


def csv_safe(col: pl.Expr) -> pl.Expr:
    """Neutralize spreadsheet formulas (OWASP CSV injection): a cell starting with
    ``= + - @``, tab or carriage return gets a leading single quote."""
    return pl.when(col.str.contains(FORMULA_START)).then(pl.lit("'") + col).otherwise(col)


def csv_frame(frame: pl.DataFrame, json_columns: frozenset[str]) -> pl.DataFrame:
    """Flat, formula-safe columns: text is guarded, nested values become JSON text,
    numbers and booleans are left as they are."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype.is_numeric() or dtype == pl.Boolean:
            exprs.append(col)
        elif dtype == pl.String:
            exprs.append(csv_safe(col).alias(name))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(rfc3339(col).alias(name))
        else:
            exprs.append(csv_safe(json_value(name, dtype, json_columns)).alias(name))
    return frame.select(exprs)


def write_csv(
    frame: pl.DataFrame, path: Path, json_columns: frozenset[str], *, overwrite: bool
) -> int:
    safe = csv_frame(frame, json_columns)
    with atomic_writer(path, "wb", overwrite=overwrite) as handle:
        safe.write_csv(handle, quote_style="non_numeric")
    return frame.height


def write_parquet(frame: pl.DataFrame, path: Path, *, overwrite: bool) -> int:
    """Parquet with native types (timestamps, lists of messages), for pandas and HF datasets."""
    with atomic_writer(path, "wb", overwrite=overwrite) as handle:
        frame.write_parquet(handle, compression="zstd", statistics=True)
    return frame.height


#: A table writer: (frame, path, JSON-text columns, extra vars) -> records written. Each
#: writes one file atomically.
TableWriter = Callable[[pl.DataFrame, Path, frozenset[str], Sequence[str]], int]

#: The table writers by dataset format (the export's other writer, "as logged", streams
#: the input files instead: :func:`genailog.dataset.export.write_as_logged`).
def _examples_writer(fmt: str) -> TableWriter:
    def write(frame: pl.DataFrame, path: Path, json_columns: frozenset[str],
              extra: Sequence[str]) -> int:
        return write_examples(frame, path, fmt, overwrite=True, extra_vars=extra)

    return write


WRITERS: dict[str, TableWriter] = {
    "jsonl": lambda frame, path, json_columns, _: write_jsonl(
        frame, path, json_columns, overwrite=True),
    **{fmt: _examples_writer(fmt) for fmt in ("openai-chat", "openai-evals", "promptfoo")},
    "csv": lambda frame, path, json_columns, _: write_csv(
        frame, path, json_columns, overwrite=True),
    "parquet": lambda frame, path, _, __: write_parquet(frame, path, overwrite=True),
}


def write_dataset(
    frame: pl.DataFrame,
    path: Path,
    fmt: str,
    json_columns: frozenset[str],
    *,
    overwrite: bool,
    extra_vars: Sequence[str] = (),
    bad_answers: BadAnswers | None = None,
) -> int:
    """Write ``frame`` in format ``fmt``; returns the number of records written.
    ``bad_answers``: how promptfoo treats answers judged bad (default: omit)."""
    if not overwrite:
        from genailog.outputs import check_target

        check_target(path, overwrite=False)
    if fmt == "promptfoo":
        return write_examples(frame, path, fmt, overwrite=True, extra_vars=extra_vars,
                              bad_answers=bad_answers)
    return WRITERS[fmt](frame, path, json_columns, extra_vars)
