"""Structured output: ``schema=`` made into one JSON Schema, and the answer checked and loaded.

:func:`to_schema` takes a JSON Schema dict, a dataclass, an attrs class, a
TypedDict or the concise ``"name str, age int"`` form, and returns a
:class:`Schema`: the JSON Schema, a name, whether it meets OpenAI's strict
mode, and how to load a checked answer (a dict, or an instance of the class).
:func:`type_to_schema` maps one type hint to JSON Schema (``Optional``,
``list[...]``, ``Literal``, enums and nested classes included).

jsonschema does the checking; it is imported when the first schema is made.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import json
import re
import sys
import typing
from collections.abc import Iterable, Mapping, MutableSequence, MutableSet, Sequence, Set
from typing import Any, Callable, Optional, Union

import attrs

from codey._errors import StructuredOutputError

__all__ = ["Schema", "checked_json", "load_answer", "parse_concise", "to_schema", "type_to_schema"]

#: How a loaded JSON value becomes the caller's value (None: as it is).
Loader = Optional[Callable[[Any], Any]]

_SIMPLE: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}
_ARRAYS = (list, tuple, set, frozenset)
_SEQUENCES = (Sequence, MutableSequence, Set, MutableSet, Iterable)
_MAKE_ARRAY: dict[Any, Callable[[Any], Any]] = {
    tuple: tuple,
    set: set,
    frozenset: frozenset,
    Set: set,
    MutableSet: set,
}
_NAME = re.compile(r"[^A-Za-z0-9_-]+")
#: What the concise form's types mean (``?`` after one: it may be null).
CONCISE_TYPES = {"str": str, "int": int, "float": float, "bool": bool}
_CONCISE_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s+(list\[\s*(\w+)\s*\]|\w+)(\?)?$")
#: Finish reasons that mean the answer was cut at max_tokens (or at a full context window).
_CUT = ("length", "max_tokens", "model_context_window_exceeded")


@attrs.frozen(eq=False)
class Schema:
    """A ``schema=`` made ready to send and to check an answer with."""

    #: The JSON Schema sent to the provider and checked against.
    json_schema: dict[str, Any] = attrs.field(repr=False)
    #: The schema's name (OpenAI's ``json_schema.name``, Anthropic's tool name).
    name: str = "answer"
    #: Whether it meets OpenAI's strict mode (every object closed, every property required).
    strict: bool = False
    #: Makes the checked JSON into the caller's value; None keeps the dict.
    loader: Loader = attrs.field(default=None, repr=False)
    _validator: Any = attrs.field(default=None, repr=False, alias="validator")

    def check(self, value: Any) -> Optional[str]:
        """Why ``value`` does not match the schema (the first error, with its place), or None."""
        if self._validator is None:
            return None
        from jsonschema.exceptions import best_match

        error = best_match(self._validator.iter_errors(value))
        if error is None:
            return None
        where = "".join(
            f"[{part!r}]" if isinstance(part, int) else f".{part}" for part in error.path
        )
        return f"at ${where}: {error.message}"

    def load(self, value: Any) -> Any:
        """The caller's value for checked JSON: the dict, or an instance of the class."""
        return value if self.loader is None else self.loader(value)


def to_schema(value: Any) -> Schema:
    """A :class:`Schema` from what ``schema=`` accepts; ValueError or TypeError if it is not one."""
    if isinstance(value, Schema):
        return value
    if isinstance(value, str):
        return _make(parse_concise(value), "answer", None)
    if isinstance(value, Mapping):
        schema = copy.deepcopy(dict(value))
        title = schema.get("title")
        return _make(schema, title if isinstance(title, str) else "answer", None)
    if isinstance(value, type) and _fields(value) is not None:
        schema, loader = _convert(value, ())
        return _make(schema, value.__name__, loader)
    raise TypeError(
        "schema must be a JSON Schema dict, a dataclass, an attrs class, a TypedDict or a "
        f"concise schema such as 'name str, age int', not {value!r}"
    )


def type_to_schema(hint: Any) -> dict[str, Any]:
    """The JSON Schema of a type hint; ValueError for a type JSON cannot carry."""
    return _convert(hint, ())[0]


def parse_concise(text: str) -> dict[str, Any]:
    """``"name str, age int?, tags list[str]"`` as a JSON Schema object; ValueError if not one.

    Types: str, int, float, bool, and list[...] of one of them; ``?`` after a
    type lets the value be null. Every field is required.
    """
    properties: dict[str, Any] = {}
    for part in text.split(","):
        field = part.strip()
        match = _CONCISE_FIELD.match(field)
        if match is None:
            raise ValueError(
                f"not a field: {field!r} (write NAME TYPE, with TYPE one of "
                f"{', '.join(CONCISE_TYPES)} or list[TYPE], and ? for a value that may be null)"
            )
        name, kind, item, nullable = match.groups()
        if name in properties:
            raise ValueError(f"field {name!r} is named twice")
        hint: Any = CONCISE_TYPES.get(kind if item is None else item)
        if item is not None and hint is not None:
            hint = list[hint]
        if hint is None:
            raise ValueError(
                f"unknown type {kind!r} for {name!r} "
                f"(known: {', '.join(CONCISE_TYPES)}, list[TYPE])"
            )
        properties[name] = type_to_schema(Optional[hint] if nullable else hint)
    return _object(properties)


def load_answer(
    schema: Optional[Schema], text: str, provider: str, finish_reason: Optional[str]
) -> Any:
    """The answer's JSON, checked against ``schema`` and loaded; StructuredOutputError if not."""
    value = checked_json(schema, text, provider, finish_reason)
    if schema is None:
        return value
    try:
        return schema.load(value)
    except (TypeError, ValueError) as exc:  # the class's own checks (__post_init__, validators)
        raise StructuredOutputError(
            f"{provider}'s answer matches the schema {schema.name!r} but {schema.name} "
            f"rejected it: {exc}",
            provider=provider,
            validation_message=str(exc),
        ) from exc


def checked_json(
    schema: Optional[Schema], text: str, provider: str, finish_reason: Optional[str]
) -> Any:
    """The answer's JSON, checked against ``schema`` (not loaded into its class).

    The error quotes the answer: its reader redacts it (``Stream``, the batch's record).
    """
    excerpt = repr(text[:200]) + ("..." if len(text) > 200 else "")
    if finish_reason == "refusal":  # whatever came is not the answer, even if it parses
        raise StructuredOutputError(
            f"{provider} refused to answer (finish reason: refusal): {excerpt}",
            provider=provider,
        )
    cut = " (cut off at max_tokens)" if finish_reason in _CUT else ""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise StructuredOutputError(
            f"{provider}'s answer is not valid JSON{cut}: {exc}: {excerpt}", provider=provider
        ) from None
    if schema is None:
        return value
    problem = schema.check(value)
    if problem is not None:
        raise StructuredOutputError(
            f"{provider}'s answer does not match the schema {schema.name!r}{cut} {problem}: "
            f"{excerpt}",
            provider=provider,
            validation_message=problem,
        )
    return value


# -- making one ------------------------------------------------------------------


def _make(schema: dict[str, Any], name: str, loader: Loader) -> Schema:
    if schema.get("type") != "object":
        raise ValueError(
            'schema must describe a JSON object ("type": "object" at the top), '
            f"not {json.dumps(schema)[:200]}"
        )
    import jsonschema

    cls = jsonschema.validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"schema is not a valid JSON Schema: {exc.message}") from None
    _check_refs(schema)
    return Schema(
        schema,
        name=_NAME.sub("_", name)[:64] or "answer",
        strict=_is_strict(schema),
        loader=loader,
        validator=cls(schema),
    )


#: Keywords whose values are data, not schemas: a "$ref" in them is no reference.
_DATA_KEYWORDS = ("const", "default", "enum", "examples")


def _check_refs(schema: dict[str, Any]) -> None:
    """Every ``$ref`` resolves (within the schema: nothing is fetched), or a ValueError,
    so that a bad one fails before anything is sent rather than when the answer is checked."""
    from referencing import Registry, Resource
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012, specification_with

    dialect = schema.get("$schema")
    spec = specification_with(dialect, default=DRAFT202012) if isinstance(dialect, str) else None
    spec = spec or DRAFT202012
    root = Registry().resolver_with_root(Resource.from_contents(schema, default_specification=spec))

    def walk(node: Any, resolver: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, resolver)
        elif isinstance(node, dict):
            if node is not schema and isinstance(node.get("$id"), str):
                resolver = resolver.in_subresource(
                    Resource.from_contents(node, default_specification=spec)
                )
            ref = node.get("$ref")
            if isinstance(ref, str):
                try:
                    resolver.lookup(ref)
                except Unresolvable as exc:
                    raise ValueError(
                        f"schema is not a valid JSON Schema: $ref {ref!r} cannot be resolved "
                        f"({type(exc).__name__})"
                    ) from None
            for key, value in node.items():
                if key not in _DATA_KEYWORDS:
                    walk(value, resolver)

    walk(schema, root)


def _is_strict(schema: Any) -> bool:
    """Whether OpenAI's strict mode takes it: every object closed, every property required.

    A schema that is not is sent with ``strict: false`` (the model is then
    guided by it, not held to it); the answer is checked here either way.
    """
    if not isinstance(schema, dict):
        return True
    if not schema or not any(key in schema for key in ("type", "anyOf", "enum", "const", "$ref")):
        return False  # an unconstrained value ({}, Any): strict mode needs a type
    properties = schema.get("properties")
    if schema.get("type") == "object" or properties is not None:
        if schema.get("additionalProperties") is not False:
            return False
        if set(schema.get("required", ())) != set(properties or ()):
            return False
    children: list[Any] = list((properties or {}).values())
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            children.append(schema[key])
    for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
        children.extend(schema.get(key) or ())
    for key in ("$defs", "definitions"):
        children.extend((schema.get(key) or {}).values())
    return all(_is_strict(child) for child in children)


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    # Every field required and no others: what OpenAI's strict mode asks, and
    # what loads into any class. A field that may be absent is Optional (null).
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


# -- type hints --------------------------------------------------------------------


def _fields(cls: type) -> Optional[list[tuple[str, str, Any]]]:
    """(JSON key, keyword for the constructor, type hint) of a class's fields, or None."""
    if not isinstance(cls, type):
        return None
    if dataclasses.is_dataclass(cls):
        hints = _hints(cls)
        return [(f.name, f.name, hints[f.name]) for f in dataclasses.fields(cls) if f.init]
    if attrs.has(cls):
        hints = _hints(cls)
        return [
            (a.name, a.alias or a.name, hints.get(a.name, a.type if a.type is not None else Any))
            for a in attrs.fields(cls)
            if a.init
        ]
    if issubclass(cls, dict) and hasattr(cls, "__total__") and hasattr(cls, "__annotations__"):
        return [(name, name, hint) for name, hint in _hints(cls).items()]  # a TypedDict
    return None


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls, include_extras=True)
    except Exception as exc:  # a name in an annotation that does not resolve, say
        raise ValueError(f"schema: cannot read the type hints of {cls.__name__}: {exc}") from exc


def _convert(hint: Any, seen: tuple[type, ...]) -> tuple[dict[str, Any], Loader]:
    """A type hint's JSON Schema, and what makes checked JSON into that type."""
    if hint is Any:
        return {}, None
    if hint is None or hint is type(None):
        return {"type": "null"}, None
    if hint in _SIMPLE:
        return {"type": _SIMPLE[hint]}, (float if hint is float else None)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum([member.value for member in hint]), hint
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        schema, loader = _convert(args[0], seen)
        notes = [note for note in args[1:] if isinstance(note, str)]
        return ({**schema, "description": " ".join(notes)} if notes else schema), loader
    if origin is typing.Literal:
        return _enum(list(args)), None
    if origin is Union or (sys.version_info >= (3, 10) and _is_union_type(hint)):
        if Any in args:  # Python 3.9 and 3.10 read "x: Any = None" as Optional[Any]
            return {}, None
        return _union(args, seen)
    if hint in _ARRAYS or hint in _SEQUENCES or origin in _ARRAYS or origin in _SEQUENCES:
        return _array(hint, origin or hint, args, seen)
    if hint in (dict, Mapping) or origin in (dict, Mapping):
        if args and args[0] is not str:
            raise ValueError(f"a JSON object's keys are strings: {hint!r} cannot be described")
        if not args:
            return {"type": "object"}, None
        schema, loader = _convert(args[1], seen)
        out = {"type": "object", "additionalProperties": schema}
        if loader is None:
            return out, None
        return out, lambda value: {key: loader(item) for key, item in value.items()}
    fields = _fields(hint) if isinstance(hint, type) else None
    if fields is not None:
        return _class(hint, fields, seen)
    raise ValueError(
        f"schema: {hint!r} cannot be described as JSON; use str, int, float, bool, None, list, "
        "dict, Optional, Union, Literal, an Enum, a dataclass, an attrs class or a TypedDict"
    )


def _enum(values: list[Any]) -> dict[str, Any]:
    kinds = {type(value) for value in values}
    kind = _SIMPLE.get(next(iter(kinds))) if len(kinds) == 1 else None
    return {"type": kind, "enum": values} if kind else {"enum": values}


def _is_union_type(hint: Any) -> bool:
    import types

    return isinstance(hint, getattr(types, "UnionType", ()))


def _union(args: tuple[Any, ...], seen: tuple[type, ...]) -> tuple[dict[str, Any], Loader]:
    branches = [_convert(arg, seen) for arg in args]
    schema: dict[str, Any] = {"anyOf": [branch for branch, _ in branches]}
    if all(list(branch) == ["type"] and isinstance(branch["type"], str) for branch, _ in branches):
        schema = {"type": [branch["type"] for branch, _ in branches]}  # Optional[int]: a type list
    if all(loader is None for _, loader in branches):
        return schema, None
    import jsonschema

    # The first branch whose schema the value matches decides how it loads.
    checks = [
        (jsonschema.validators.validator_for(branch)(branch), loader) for branch, loader in branches
    ]

    def load(value: Any) -> Any:
        for validator, loader in checks:
            if validator.is_valid(value):
                return value if loader is None else loader(value)
        return value

    return schema, load


def _array(
    hint: Any, origin: Any, args: tuple[Any, ...], seen: tuple[type, ...]
) -> tuple[dict[str, Any], Loader]:
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        return _fixed_tuple(args, seen)
    make: Callable[[Any], Any] = _MAKE_ARRAY.get(origin, list)
    if not args:
        return {"type": "array"}, (None if make is list else make)
    schema, loader = _convert(args[0], seen)
    out: dict[str, Any] = {"type": "array", "items": schema}
    if loader is None and make is list:
        return out, None
    return out, lambda value: make(item if loader is None else loader(item) for item in value)


def _fixed_tuple(args: tuple[Any, ...], seen: tuple[type, ...]) -> tuple[dict[str, Any], Loader]:
    items = [_convert(arg, seen) for arg in args]
    schema = {
        "type": "array",
        "prefixItems": [item for item, _ in items],
        "minItems": len(items),
        "maxItems": len(items),
    }

    def load(value: Any) -> Any:
        return tuple(
            item if loader is None else loader(item) for item, (_, loader) in zip(value, items)
        )

    return schema, load


def _class(
    cls: type, fields: list[tuple[str, str, Any]], seen: tuple[type, ...]
) -> tuple[dict[str, Any], Loader]:
    if cls in seen:
        raise ValueError(
            f"schema: {cls.__name__} refers to itself; recursive types are not supported"
        )
    properties: dict[str, Any] = {}
    loaders: list[tuple[str, str, Loader]] = []
    for key, keyword, hint in fields:
        properties[key], loader = _convert(hint, (*seen, cls))
        loaders.append((key, keyword, loader))
    schema = _object(properties)
    if issubclass(cls, dict):  # a TypedDict: a plain dict, its values loaded
        if all(loader is None for _, _, loader in loaders):
            return schema, None
        return schema, lambda value: {
            key: value[key] if loader is None else loader(value[key]) for key, _, loader in loaders
        }

    def load(value: Any) -> Any:
        return cls(
            **{
                keyword: value[key] if loader is None else loader(value[key])
                for key, keyword, loader in loaders
            }
        )

    return schema, load
