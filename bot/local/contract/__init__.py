"""LINE's official Messaging API OpenAPI spec (Apache-2.0, see LICENSE here), as JSON Schema.

Why it lives in a package: the spec travels with the bot as package data, so the contract
validator (bot.local.line_schema) and the local LINE stand-in check the exact file tests use.

Why a transformation: the spec models Message, Action, FlexComponent, Template, ... as an
OpenAPI ``discriminator`` on a base schema; checking only the base checks almost nothing.
``json_schema_defs`` rewrites the components into JSON Schema (draft 2020-12 keywords) in
which every reference to a discriminated base ``X`` becomes ``X__dispatch``: a keyword
``x-discriminator`` that reads ``type`` and validates the mapped concrete schema (an
unknown ``type`` is an error). ``allOf`` references to a base stay plain inheritance (the
concrete schema includes the base's properties), so dispatch never loops. OpenAPI 3.0
``nullable`` becomes a ``null`` type; ``format`` and documentation keywords are dropped.

Why our own ``_Checker`` walks that schema instead of the ``jsonschema`` package: jsonschema
spends ~25 us per subschema (~3.5 ms for a flex carousel); this walk takes a fraction of
that, and tests/test_line_schema.py checks that both agree. bot.local.line_schema is the public
entry point (it adds LINE's documented limits on top).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

SPEC_PACKAGE = __name__
SPEC_FILE = "messaging-api.yml"
DISPATCH_SUFFIX = "__dispatch"
DISCRIMINATOR_KEYWORD = "x-discriminator"

# JSON Schema keywords carried over verbatim; the rest (description, example, format,
# externalDocs, discriminator, x-*) is documentation or handled separately.
_PLAIN_KEYWORDS = frozenset(
    {"type", "required", "enum", "pattern", "maxLength", "minLength", "maxItems", "minItems"}
    | {"maximum", "minimum"}
)
_SCHEMA_VALUED = frozenset({"items", "not", "additionalProperties"})
_SCHEMA_LISTS = frozenset({"oneOf", "anyOf"})


@dataclass(frozen=True)
class Discriminator:
    """A discriminated base: which property selects the subtype, and the subtypes."""

    property_name: str
    mapping: Mapping[str, str]


@lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """Load messaging-api.yml once (package data, so it travels with the bot)."""
    text = resources.files(SPEC_PACKAGE).joinpath(SPEC_FILE).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec: dict[str, Any] = yaml.load(text, Loader=loader)
    return spec


def _ref_name(ref: str) -> str:
    """``#/components/schemas/X`` -> ``X`` (the spec only references its own components)."""
    return ref.rsplit("/", 1)[-1]


def discriminated_bases(schemas: Mapping[str, Any]) -> dict[str, Discriminator]:
    """Every base schema with a discriminator, with its explicit and implicit mapping.

    OpenAPI also allows the implicit mapping "value = schema name" for schemas that
    inherit the base via ``allOf``; they are added so a future spec change is not missed.
    """
    bases: dict[str, Discriminator] = {}
    for name, schema in schemas.items():
        disc = schema.get("discriminator")
        if not disc:
            continue
        mapping = {value: _ref_name(ref) for value, ref in disc.get("mapping", {}).items()}
        for child, child_schema in schemas.items():
            parents = [_ref_name(m.get("$ref", "")) for m in child_schema.get("allOf", [])]
            if name in parents and child not in mapping.values():
                mapping[child] = child
        bases[name] = Discriminator(disc["propertyName"], mapping)
    return bases


def _convert(node: Any, bases: Mapping[str, Discriminator], *, inherit: bool = False) -> Any:
    """Translate one OpenAPI 3.0 schema object into JSON Schema.

    ``inherit`` marks an ``allOf`` member: a reference there to a discriminated base means
    "has the base's properties", so it must not dispatch (that would recurse forever).
    """
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = _ref_name(node["$ref"])
        suffix = DISPATCH_SUFFIX if name in bases and not inherit else ""
        return {"$ref": f"#/$defs/{name}{suffix}"}
    out: dict[str, Any] = {k: v for k, v in node.items() if k in _PLAIN_KEYWORDS}
    if "properties" in node:
        out["properties"] = {k: _convert(v, bases) for k, v in node["properties"].items()}
    for key in _SCHEMA_VALUED & node.keys():
        out[key] = _convert(node[key], bases)
    for key in _SCHEMA_LISTS & node.keys():
        out[key] = [_convert(m, bases) for m in node[key]]
    if "allOf" in node:
        out["allOf"] = [_convert(m, bases, inherit=True) for m in node["allOf"]]
    if node.get("nullable"):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


@lru_cache(maxsize=1)
def json_schema_defs() -> dict[str, Any]:
    """All components as JSON Schema ``$defs``, plus ``X__dispatch`` per discriminated base.

    Each concrete subtype also pins its discriminator value, so a field typed as a concrete
    schema (a bubble's ``body`` is a FlexBox) rejects ``{"type": "text"}`` there too.
    """
    schemas: dict[str, Any] = load_spec()["components"]["schemas"]
    bases = discriminated_bases(schemas)
    defs = {name: _convert(schema, bases) for name, schema in schemas.items()}
    pinned: dict[tuple[str, str], list[str]] = {}
    for base, disc in bases.items():
        mapping = {v: {"$ref": f"#/$defs/{c}"} for v, c in disc.mapping.items()}
        defs[base + DISPATCH_SUFFIX] = {
            DISCRIMINATOR_KEYWORD: {"base": base, "propertyName": disc.property_name,
                                    "mapping": mapping}
        }
        for value, concrete in disc.mapping.items():
            pinned.setdefault((concrete, disc.property_name), []).append(value)
    for (concrete, prop), values in pinned.items():
        pin = {"properties": {prop: {"enum": values}}}
        defs[concrete] = {**defs[concrete], "allOf": [*defs[concrete].get("allOf", []), pin]}
    return defs


def root_schema(schema_name: str) -> dict[str, Any]:
    """A self-contained JSON Schema for one component (dispatching if it is a base)."""
    defs = json_schema_defs()
    if schema_name not in defs:
        raise KeyError(f"no component schema named {schema_name!r} in {SPEC_FILE}")
    dispatch = schema_name + DISPATCH_SUFFIX
    return {"$defs": defs, "$ref": f"#/$defs/{dispatch if dispatch in defs else schema_name}"}


def schema_names() -> list[str]:
    """Names accepted by ``validate_body``: every component schema of the spec."""
    return sorted(load_spec()["components"]["schemas"])


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "boolean": (bool,),
    "integer": (int,), "number": (int, float), "null": (type(None),),
}


@dataclass(frozen=True)
class SchemaIssue:
    """One contract violation, shaped like an entry of LINE's 400 ``details`` array."""

    property: str
    message: str

    def __str__(self) -> str:
        """Render as ``path: message`` so a failing assertion reads on one line."""
        return f"{self.property or '<body>'}: {self.message}"



def format_path(path: Iterable[str | int]) -> str:
    """``("messages", 0, "text")`` -> ``messages[0].text``, the form LINE reports."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _json_type(value: Any) -> str:
    """JSON name of a Python value's type, for messages."""
    if isinstance(value, bool):
        return "boolean"
    names = {dict: "object", list: "array", str: "string", int: "integer", float: "number"}
    return names.get(type(value), "null" if value is None else type(value).__name__)


def _is_type(value: Any, expected: str | list[str]) -> bool:
    """JSON Schema type test: bool is not a number; 1.0 counts as an integer."""
    for name in [expected] if isinstance(expected, str) else expected:
        if isinstance(value, bool) != (name == "boolean"):
            continue
        if isinstance(value, _PY_TYPES[name]):
            return True
        if name == "integer" and isinstance(value, float) and value.is_integer():
            return True
    return False


class _Checker:
    """Walks a body against the converted schema, appending issues in document order."""

    def __init__(self, defs: Mapping[str, Any]) -> None:
        """Index the ``$defs`` by their ``$ref`` string so resolution is one dict lookup."""
        self._refs = {f"#/$defs/{name}": schema for name, schema in defs.items()}

    def errors(self, schema: Mapping[str, Any], value: Any) -> list[SchemaIssue]:
        """All issues of ``value`` against ``schema`` (empty when valid)."""
        out: list[SchemaIssue] = []
        self.check(schema, value, (), out)
        return out

    def check(self, schema: Mapping[str, Any], value: Any, path: tuple[str | int, ...],
              out: list[SchemaIssue]) -> None:
        """Validate one node; on a type mismatch skip the rest of the node (less noise)."""
        if "$ref" in schema:
            self.check(self._refs[schema["$ref"]], value, path, out)
            return
        if DISCRIMINATOR_KEYWORD in schema:
            self._dispatch(schema[DISCRIMINATOR_KEYWORD], value, path, out)
            return
        if "type" in schema and not _is_type(value, schema["type"]):
            got = _json_type(value)
            out.append(SchemaIssue(format_path(path), f"must be of type {schema['type']} (got {got})"))
            return
        if isinstance(value, dict):
            self._object(schema, value, path, out)
        elif isinstance(value, list):
            self._array(schema, value, path, out)
        elif isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)):
            out.extend(SchemaIssue(format_path(path), m) for m in _scalar_issues(schema, value))
        if "enum" in schema and value not in schema["enum"]:
            out.append(SchemaIssue(format_path(path), f"must be one of {schema['enum']} (got {value!r:.60})"))
        for sub in schema.get("allOf", ()):
            self.check(sub, value, path, out)
        if "anyOf" in schema or "oneOf" in schema or "not" in schema:
            self._combinators(schema, value, path, out)

    def _dispatch(self, spec: Mapping[str, Any], value: Any, path: tuple[str | int, ...],
                  out: list[SchemaIssue]) -> None:
        """Resolve an OpenAPI discriminator: read ``type``, validate the mapped schema."""
        prop, base = spec["propertyName"], spec["base"]
        if not isinstance(value, dict):
            out.append(SchemaIssue(format_path(path), f"must be an object ({base})"))
        elif prop not in value:
            out.append(SchemaIssue(format_path((*path, prop)), f"must be specified ({base})"))
        elif not isinstance(value[prop], str) or value[prop] not in spec["mapping"]:
            known = ", ".join(sorted(spec["mapping"]))
            message = f"unknown {base} {prop} {value[prop]!r:.60}; must be one of: {known}"
            out.append(SchemaIssue(format_path((*path, prop)), message))
        else:
            self.check(spec["mapping"][value[prop]], value, path, out)

    def _object(self, schema: Mapping[str, Any], value: dict[str, Any],
                path: tuple[str | int, ...], out: list[SchemaIssue]) -> None:
        """``required``, ``properties`` and ``additionalProperties`` of an object."""
        for name in schema.get("required", ()):
            if name not in value:
                out.append(SchemaIssue(format_path((*path, name)), "must be specified"))
        properties = schema.get("properties", {})
        for name, sub in properties.items():
            if name in value:
                self.check(sub, value[name], (*path, name), out)
        extra = schema.get("additionalProperties", True)
        for name in (k for k in value if k not in properties and extra is not True):
            if extra is False:
                out.append(SchemaIssue(format_path((*path, name)), "unknown property"))
            else:
                self.check(extra, value[name], (*path, name), out)

    def _array(self, schema: Mapping[str, Any], value: list[Any],
               path: tuple[str | int, ...], out: list[SchemaIssue]) -> None:
        """``minItems``/``maxItems`` and ``items`` of an array."""
        if len(value) > schema.get("maxItems", len(value)):
            message = f"size must be at most {schema['maxItems']} (got {len(value)})"
            out.append(SchemaIssue(format_path(path), message))
        if len(value) < schema.get("minItems", 0):
            message = f"size must be at least {schema['minItems']} (got {len(value)})"
            out.append(SchemaIssue(format_path(path), message))
        if "items" in schema:
            for index, item in enumerate(value):
                self.check(schema["items"], item, (*path, index), out)

    def _combinators(self, schema: Mapping[str, Any], value: Any,
                     path: tuple[str | int, ...], out: list[SchemaIssue]) -> None:
        """``anyOf``/``oneOf``/``not`` (rare in request bodies; only pass/fail is reported)."""
        where = format_path(path)
        if "anyOf" in schema and not any(not self.errors(s, value) for s in schema["anyOf"]):
            out.append(SchemaIssue(where, "must match at least one allowed shape (anyOf)"))
        if "oneOf" in schema and sum(not self.errors(s, value) for s in schema["oneOf"]) != 1:
            out.append(SchemaIssue(where, "must match exactly one allowed shape (oneOf)"))
        if "not" in schema and not self.errors(schema["not"], value):
            out.append(SchemaIssue(where, "must not match the excluded shape (not)"))


@lru_cache(maxsize=256)
def _pattern(regex: str) -> re.Pattern[str]:
    """Compile each spec ``pattern`` once."""
    return re.compile(regex)


def _scalar_issues(schema: Mapping[str, Any], value: str | float) -> list[str]:
    """String length/pattern and numeric bounds; lengths count code points like JSON Schema."""
    issues: list[str] = []
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            issues.append(f"length must be at most {schema['maxLength']} (got {len(value)})")
        if len(value) < schema.get("minLength", 0):
            issues.append(f"length must be at least {schema['minLength']} (got {len(value)})")
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            issues.append(f"must match pattern {schema['pattern']}")
        return issues
    if "maximum" in schema and value > schema["maximum"]:
        issues.append(f"must be at most {schema['maximum']} (got {value})")
    if "minimum" in schema and value < schema["minimum"]:
        issues.append(f"must be at least {schema['minimum']} (got {value})")
    return issues


@lru_cache(maxsize=1)
def _checker() -> _Checker:
    """The one checker over the cached converted spec."""
    return _Checker(json_schema_defs())


def schema_issues(schema_name: str, body: Any) -> list[SchemaIssue]:
    """Violations of the OpenAPI spec alone (no extra LINE limits), in document order."""
    return _checker().errors(root_schema(schema_name), body)
