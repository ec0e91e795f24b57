"""Which features drift monitors, their types, and the polars expression for each.

Defaults cover the canonical fields an LLM log usually carries; ``prompt_length`` and
``response_length`` are derived (characters). A user names other fields with
``--features``, optionally typed as ``name:type`` (``question:text``); untyped fields get
their type from the column dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from genailog.analysis.drift.registry import FEATURE_TYPES, FeatureType
from genailog.analysis.safety import moderated
from genailog.errors import UsageError
from genailog.schema.rules import prompt_text as prompt_text  # its home

NULL_LABEL = "(null)"




DERIVED: dict[str, tuple[FeatureType, pl.Expr]] = {
    "prompt_length": ("numeric", prompt_text().str.len_chars()),
    "response_length": ("numeric", pl.col("response").str.len_chars()),
    "prompt": ("text", prompt_text()),
    # Opt-in (--features moderated): did moderation_flags fire any category.
    "moderated": ("categorical", moderated()),
}

DEFAULT_FEATURES: tuple[str, ...] = (
    "latency_ms", "ttft_ms", "input_tokens", "output_tokens", "cost_usd", "prompt_length",
    "response_length", "feedback_rating",
    "model", "status", "error_type", "finish_reason", "prompt_version", "refusal",
    "hallucination_flag",
    "prompt", "response",
    "embedding",
)  # fmt: skip


@dataclass(frozen=True)
class Feature:
    """A monitored feature: its name, type and the expression giving its values."""

    name: str
    kind: FeatureType

    @property
    def expr(self) -> pl.Expr:
        """Values as the methods want them: floats, labels (nulls labelled), text, vectors."""
        if self.name in DERIVED:
            base = DERIVED[self.name][1]
        else:
            base = pl.col(self.name)
        if self.kind == "numeric":
            return base.cast(pl.Float64).alias(self.name)
        if self.kind == "categorical":
            return base.cast(pl.String).fill_null(NULL_LABEL).alias(self.name)
        if self.kind == "embedding":
            return base.cast(pl.List(pl.Float64)).alias(self.name)
        return base.cast(pl.String).alias(self.name)


def kind_of(dtype: pl.DataType) -> FeatureType | None:
    """The feature type a column dtype implies, or None when it has no natural one."""
    if dtype.is_numeric():
        return "numeric"
    if dtype in (pl.String, pl.Boolean, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "categorical"
    if isinstance(dtype, pl.List | pl.Array) and dtype.inner is not None and (
            dtype.inner.is_numeric()):
        return "embedding"
    return None


def resolve(spec: str, schema: pl.Schema) -> Feature:
    """A feature from ``name`` or ``name:type``, checked against the frame's schema."""
    name, _, typed = spec.partition(":")
    name = name.strip()
    if typed:
        if typed not in FEATURE_TYPES:
            raise UsageError(f"feature {spec!r}: type must be one of {', '.join(FEATURE_TYPES)}")
        kind: FeatureType | None = typed
    elif name in DERIVED:
        kind = DERIVED[name][0]
    elif name == "response":
        kind = "text"
    elif name in schema:
        kind = kind_of(schema[name])
    else:
        raise UsageError(f"unknown feature {name!r}; fields present: {', '.join(schema.names())}")
    if name not in DERIVED and name not in schema:
        raise UsageError(f"unknown feature {name!r}; fields present: {', '.join(schema.names())}")
    if kind is None:
        raise UsageError(f"feature {name!r} has dtype {schema[name]}; name its type, "
                         f"e.g. {name}:categorical")
    return Feature(name, kind)


def default_features(schema: pl.Schema) -> list[Feature]:
    """The default features whose columns exist (all canonical columns always do)."""
    return [resolve(name, schema) for name in DEFAULT_FEATURES
            if name in DERIVED or name in schema]
