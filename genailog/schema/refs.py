"""``--schema`` references resolved offline, and checked before any record is read.

jsonschema's default registry still retrieves a remote ``$ref`` over the network (its
legacy behaviour, with a deprecation warning), and an unresolvable or endlessly recursive
``$ref`` only fails while validating a record, as an internal error. Here:

- :func:`offline_registry` refuses every retrieval: a schema may refer to itself, to its
  ``$defs`` and ``$id``-named parts, and to the JSON Schema meta-schemas jsonschema ships;
- :func:`check_refs` looks up every ``$ref`` of the schema at once and finds ``$ref``
  cycles that never reach into the data (``{"$ref": "#"}``), raising a UsageError (exit 2)
  that names the reference.

Must not: open a URL or a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

from jsonschema_specifications import REGISTRY as SPECIFICATIONS
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable, Unretrievable
from referencing.jsonschema import DRAFT202012

from genailog.errors import UsageError

#: Keywords whose subschemas apply to the same value (not to a part of it): a cycle
#: through only these never ends.
_IN_PLACE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas")
#: Keywords holding subschemas that apply to parts of the value (or define them).
_NESTED_ONE = ("additionalProperties", "items", "contains", "propertyNames",
               "unevaluatedItems", "unevaluatedProperties")
_NESTED_MANY = ("properties", "patternProperties", "$defs", "definitions", "prefixItems")


def _refuse(uri: str) -> Resource[Any]:
    raise Unretrievable(ref=uri)  # type: ignore[call-arg]


def offline_registry() -> Registry[Any]:
    """A registry that never retrieves: a reference outside the schema is an error."""
    return Registry(retrieve=_refuse)  # type: ignore[call-arg]


def check_refs(schema: Any) -> None:
    """Raise UsageError for a ``$ref`` that cannot be resolved offline or that loops."""
    if not isinstance(schema, dict):
        return
    root = DRAFT202012.create_resource(schema)
    base = str(schema.get("$id", ""))
    registry = offline_registry().combine(SPECIFICATIONS).with_resource(base, root)
    targets: dict[int, list[tuple[str, Any]]] = {}
    for node, node_base in _subschemas(schema, base):
        ref = node.get("$ref")
        if not isinstance(ref, str):
            continue
        try:  # the resolver joins ref to the base as referencing does (urn: ids included)
            resolved = registry.resolver(node_base).lookup(ref)
        except Unresolvable as exc:  # a refused retrieval is its cause
            raise UsageError(_unresolvable(ref, urljoin(node_base, ref),
                                           isinstance(exc.__cause__, Unretrievable))) from None
        targets.setdefault(id(node), []).append((ref, resolved.contents))
    _check_cycles(schema, base, targets)


def _unresolvable(ref: str, uri: str, outside: bool) -> str:
    if outside:
        return (f"--schema: $ref {ref!r} names a document outside the schema file "
                f"({uri or ref}); genailog never downloads or opens a referenced schema: put "
                "it under $defs in the schema file")
    return f"--schema: $ref {ref!r} cannot be resolved: no such part in the schema"


def _children(node: dict[str, Any]) -> Iterator[tuple[Any, bool]]:
    """Each subschema of ``node``, and whether it applies to the same value."""
    for key in _IN_PLACE:
        value = node.get(key)
        if isinstance(value, list):
            yield from ((item, True) for item in value)
        elif isinstance(value, dict) and key == "dependentSchemas":
            yield from ((item, True) for item in value.values())
        elif value is not None:
            yield value, True
    for key in _NESTED_ONE:
        if key in node:
            yield node[key], False
    for key in _NESTED_MANY:
        value = node.get(key)
        if isinstance(value, dict):
            yield from ((item, False) for item in value.values())
        elif isinstance(value, list):
            yield from ((item, False) for item in value)


def _subschemas(schema: Any, base: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every object subschema with its base URI (iteratively: nesting depth is free)."""
    stack = [(schema, base)]
    seen: set[int] = set()
    while stack:
        node, node_base = stack.pop()
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node.get("$id"), str):
            node_base = urljoin(node_base, node["$id"])
        yield node, node_base
        stack.extend((child, node_base) for child, _ in _children(node))


def _check_cycles(schema: Any, base: str,
                  targets: dict[int, list[tuple[str, Any]]]) -> None:
    """A path of in-place applicators and ``$ref`` that returns to where it started
    recurses for ever on any value: refuse it."""
    nodes = {id(node): node for node, _ in _subschemas(schema, base)}
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start in nodes:
        if state.get(start):
            continue
        state[start] = 1
        path = [(start, _edges(nodes[start], targets), "")]
        while path:
            current, edges, _ = path[-1]
            step = next(edges, None)
            if step is None:
                state[current] = 2
                path.pop()
                continue
            ref, target = step
            if not isinstance(target, dict) or state.get(id(target)) == 2:
                continue
            if state.get(id(target)) == 1:
                named = ref or next((r for _, _, r in reversed(path) if r), "#")
                raise UsageError(f"--schema: $ref {named!r} leads back to where it started "
                                 "without reaching into the data, so validating would never "
                                 "end; nest the reference under properties or items")
            state[id(target)] = 1
            path.append((id(target), _edges(target, targets), ref))


def _edges(node: dict[str, Any], targets: dict[int, list[tuple[str, Any]]]
           ) -> Iterator[tuple[str, Any]]:
    yield from targets.get(id(node), [])
    for child, in_place in _children(node):
        if in_place:
            yield "", child
