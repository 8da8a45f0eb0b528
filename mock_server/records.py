"""Render records from facts, as a collection's schema and its ``x-paymock`` sources declare.

The schema is compiled once per document load into a tree of small closures; rendering a record
is then a walk of that tree with no parsing and no lookups by name.
"""

from __future__ import annotations

import bisect
import re
import string
import time
import zlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from mock_server.errors import SpecError
from mock_server.registry import Registry
from mock_server.world import FACT_SCHEMA, TIME_FACTS, stable_hex

Env = Mapping[str, Any]
Render = Callable[[Env], Any]
_MISSING = object()


class Context:
    """What a source compiler needs: where it is, which roots it may read, the property schema.

    Attributes:
        where: Document location of the property.
        roots: Root name (``payment``, ``tenant``, ``item``) -> entity kind.
        schema: The property's (resolved) schema.
        path: Dotted property path inside the record, for deterministic choices.
    """

    def __init__(self, where: str, roots: Mapping[str, str], schema: Mapping[str, Any], path: str):
        self.where = where
        self.roots = roots
        self.schema = schema
        self.path = path


SOURCES: Registry[Callable[[Any, Context], Render]] = Registry("x-paymock source")


def fact_kind(path: str, ctx: Context) -> tuple[list[str], str | None]:
    """Validate a dotted fact path and return its parts and the kind of the fact it ends on."""
    parts = path.split(".")
    kind: str | None = ctx.roots.get(parts[0])
    if kind is None:
        raise SpecError(
            ctx.where,
            f"unknown root {parts[0]!r} in {path!r}; available: {', '.join(sorted(ctx.roots))}",
        )
    for part in parts[1:]:
        facts = FACT_SCHEMA.get(kind or "", {})
        if part not in facts:
            raise SpecError(
                ctx.where,
                f"unknown fact {part!r} of {kind} in {path!r}; available: {', '.join(sorted(facts))}",
            )
        kind = facts[part]
    return parts, kind


def _getter(parts: list[str]) -> Render:
    root, rest = parts[0], parts[1:]
    # Most sources read one or two levels deep; those get a closure without a loop (seeding renders
    # tens of millions of fields).
    if not rest:
        return lambda env: env.get(root)
    if len(rest) == 1:
        (first,) = rest

        def get_one(env: Env) -> Any:
            value = env.get(root)
            return None if value is None else value[first]

        return get_one
    if len(rest) == 2:
        first, second = rest

        def get_two(env: Env) -> Any:
            value = env.get(root)
            if value is None:
                return None
            value = value[first]
            return None if value is None else value[second]

        return get_two

    def get(env: Env) -> Any:
        value = env.get(root)
        for part in rest:
            if value is None:
                return None
            value = value[part]
        return value

    return get


def formatter(ctx: Context, is_time: bool) -> Callable[[Any], Any]:
    """Return a function that shapes a fact value for the property's schema."""
    pattern = time_pattern(ctx, is_time)
    if pattern is not None:
        return time_shape(pattern)
    return _SHAPES.get(ctx.schema.get("type"), as_is)


def time_pattern(ctx: Context, is_time: bool) -> str | None:
    """The strftime layout :func:`formatter` shows the property's fact with; None when it is not shown as a time."""
    schema = ctx.schema
    fmt = schema.get("format")
    spec = schema.get("x-paymock")
    strftime = spec.get("strftime") if isinstance(spec, dict) else None
    if is_time or strftime or fmt in ("date", "date-time"):
        return str(strftime or ("%Y-%m-%d" if fmt == "date" else "%Y-%m-%dT%H:%M:%SZ"))
    return None


def as_number(v: Any) -> Any:
    """A fact as a JSON number (money facts are decimal strings)."""
    return float(v) if isinstance(v, str) else v


def as_integer(v: Any) -> Any:
    """A fact as a JSON integer."""
    return int(v) if isinstance(v, str) else v


def as_string(v: Any) -> Any:
    """A fact as a JSON string."""
    return v if isinstance(v, str) or v is None else str(v)


def as_boolean(v: Any) -> Any:
    """A fact as a JSON boolean."""
    return v if v is None else bool(v)


def as_is(v: Any) -> Any:
    """A fact unchanged (the schema gives no type to shape it to)."""
    return v


_SHAPES: dict[Any, Callable[[Any], Any]] = {
    "number": as_number,
    "integer": as_integer,
    "string": as_string,
    "boolean": as_boolean,
}
_DAY_LAYOUT = re.compile(r"(?:[^%]|%[Ymd%])*")
_CLOCK_LAYOUT = re.compile(r"%H([^%]*)%M([^%]*)%S([^%]*)")


@lru_cache(maxsize=64)
def time_shape(pattern: str) -> Callable[[Any], Any]:
    """Format epoch seconds with a strftime ``pattern`` (other values pass through unchanged).

    Seeding formats millions of instants: when the pattern is a date layout optionally followed
    by ``%H?%M?%S?``, each day's text and each second-of-day's clock text is made once and then
    looked up (a world has a few thousand days; a dict lookup is a twentieth of formatting);
    any other pattern goes to ``time.strftime`` as it is. One formatter per pattern, shared.
    """
    day_part, mark, rest = pattern.partition("%H")
    clock = _CLOCK_LAYOUT.fullmatch(mark + rest) if mark else None
    if not _DAY_LAYOUT.fullmatch(day_part) or (mark and clock is None):

        def general(v: Any) -> Any:
            return time.strftime(pattern, time.gmtime(v)) if isinstance(v, int) else v

        return general

    days: dict[int, str] = {}

    def day_text(day: int) -> str:
        if len(days) >= _DAYS_KEPT:  # bounded, whatever instants a long-running server formats
            days.clear()
        text = days[day] = time.strftime(day_part, time.gmtime(day * 86_400))
        return text

    if clock is None:

        def date_only(v: Any) -> Any:
            if not isinstance(v, int):
                return v
            day = v // 86_400
            return days.get(day) or day_text(day)

        return date_only
    template = "%02d{}%02d{}%02d{}".format(*(part.replace("%", "%%") for part in clock.groups()))
    clocks: dict[int, str] = {}

    def clock_text(seconds: int) -> str:
        text = clocks[seconds] = template % (seconds // 3600, seconds // 60 % 60, seconds % 60)
        return text

    def moment(v: Any) -> Any:
        if not isinstance(v, int):
            return v
        day, seconds = divmod(v, 86_400)
        return (days.get(day) or day_text(day)) + (clocks.get(seconds) or clock_text(seconds))

    return moment


#: Day texts a formatter keeps (about 27 years of days).
_DAYS_KEPT = 10_000


@SOURCES.register("from")
def _from(value: Any, ctx: Context) -> Render:
    if not isinstance(value, str):
        raise SpecError(ctx.where, f"'from' takes a dotted fact path, got {value!r}")
    parts, kind = fact_kind(value, ctx)
    if kind is not None and not kind.endswith("[]") and ctx.schema.get("type") != "object":
        facts = ", ".join(f"{value}.{f}" for f in FACT_SCHEMA[kind])
        raise SpecError(ctx.where, f"{value!r} is a {kind}, not a value; read one of its facts: {facts}")
    get = _getter(parts)
    shape = formatter(ctx, parts[-1] in TIME_FACTS)

    def render(env: Env) -> Any:
        v = get(env)
        return None if v is None else shape(v)

    return render


def template_pieces(value: Any, ctx: Context) -> list[tuple[str, list[str] | None, str]]:
    """A template's (literal, fact path or None, format spec) pieces, validated."""
    if not isinstance(value, str):
        raise SpecError(ctx.where, f"'template' takes a format string, got {value!r}")
    try:
        parsed = list(string.Formatter().parse(value))
    except ValueError as exc:
        raise SpecError(ctx.where, f"bad template {value!r}: {exc}") from None
    pieces: list[tuple[str, list[str] | None, str]] = []
    for literal, field, spec, conv in parsed:
        if conv:
            raise SpecError(ctx.where, f"conversions (!{conv}) are not supported in {value!r}")
        pieces.append((literal, fact_kind(field, ctx)[0] if field else None, spec or ""))
    return pieces


@SOURCES.register("template")
def _template(value: Any, ctx: Context) -> Render:
    pieces = [(literal, _getter(path) if path else None, spec) for literal, path, spec in template_pieces(value, ctx)]

    def render(env: Env) -> Any:
        out = []
        for literal, getter, spec in pieces:
            out.append(literal)
            if getter is not None:
                v = getter(env)
                if v is None:
                    return None  # a template over a missing fact is missing, not "None"
                out.append(format(v, spec))
        return "".join(out)

    return render


@SOURCES.register("const")
def _const(value: Any, ctx: Context) -> Render:
    return lambda env: value


@SOURCES.register("map")
def _map(value: Any, ctx: Context) -> Render:
    spec = ctx.schema["x-paymock"]
    table = spec.get("values")
    if not isinstance(table, dict):
        raise SpecError(ctx.where, "'map' needs 'values': a table from fact value to property value")
    get = _getter(fact_kind(value, ctx)[0])
    default = spec.get("default")
    if "plus" not in spec:
        return lambda env: table.get(get(env), default)
    # A counter that starts at the mapped value and grows by a fact (a record's version).
    for shown in (*table.values(), default):
        if not (isinstance(shown, int) and not isinstance(shown, bool)) and not (
            isinstance(shown, str) and shown.isascii() and shown.isdigit()
        ):
            raise SpecError(ctx.where, f"'plus' adds to numbers or strings of digits; the table gives {shown!r}")
    if not isinstance(spec["plus"], str):
        raise SpecError(ctx.where, f"'plus' takes a dotted fact path, got {spec['plus']!r}")
    root, *steps = fact_kind(spec["plus"], ctx)[0]

    def more(env: Env) -> Any:
        # A counter is absent until the record first changes: read with get, missing is 0.
        value = env.get(root)
        for step in steps:
            value = None if value is None else value.get(step)
        return value

    def counted(env: Env) -> Any:
        shown = table.get(get(env), default)
        added = more(env)
        if not added:
            return shown
        return str(int(shown) + int(added)) if isinstance(shown, str) else shown + int(added)

    return counted


def choice_seed(facts: Mapping[str, Any] | None) -> int:
    """The number a record's deterministic choices are drawn from (its ``hex`` fact)."""
    return int(str((facts or {}).get("hex", "0"))[:12] or "0", 16)


class PickTable:
    """A weighted choice made from a hash of (record, property): stable across runs, independent per field."""

    def __init__(self, value: Any, ctx: Context) -> None:
        if (
            not isinstance(value, dict)
            or not value
            or not all(isinstance(w, int | float) and w >= 0 for w in value.values())
        ):
            raise SpecError(ctx.where, f"'pick' takes a table of value -> weight, got {value!r}")
        self.choices = list(value)
        self.cumulative: list[float] = []
        self.total = 0.0
        for w in value.values():
            self.total += w
            self.cumulative.append(self.total)
        self.last = len(self.choices) - 1
        self.salt = zlib.crc32(ctx.path.encode())
        self.root = next(iter(ctx.roots))

    def choose(self, seed: int) -> Any:
        """The choice for a record whose :func:`choice_seed` is ``seed``."""
        u = ((seed ^ self.salt) * 2654435761 % 2**32) / 2**32
        return self.choices[min(bisect.bisect_right(self.cumulative, u * self.total), self.last)]

    def __call__(self, env: Env) -> Any:
        """The choice for the record in ``env``."""
        return self.choose(choice_seed(env.get(self.root)))


@SOURCES.register("pick")
def _pick(value: Any, ctx: Context) -> Render:
    return PickTable(value, ctx)


@SOURCES.register("each")
def _each(value: Any, ctx: Context) -> Render:
    if ctx.schema.get("type") != "array":
        raise SpecError(ctx.where, "'each' belongs on an array property")
    parts, kind = fact_kind(value, ctx)
    if not (kind or "").endswith("[]"):
        raise SpecError(ctx.where, f"'each' needs a list fact, {value!r} is not one")
    get = _getter(parts)
    from mock_server.codegen import compile_record  # codegen imports this module

    roots = {**ctx.roots, "item": kind[:-2]}  # type: ignore[index]
    item = compile_record(
        ctx.schema.get("items", {}),
        Context(f"{ctx.where}.items", roots, ctx.schema.get("items", {}), ctx.path + "[]"),
    )

    def render(env: Env) -> Any:
        items = get(env) or ()
        return [item({**env, "item": it}) for it in items]

    return render


def generated(ctx: Context, required: bool) -> Render | None:
    """A value for a property without a source: from its schema alone. None means leave it out."""
    schema = ctx.schema
    if schema.get("nullable"):
        return lambda env: None
    if "enum" in schema:
        return _pick(dict.fromkeys(schema["enum"], 1), ctx)
    if schema.get("type") == "object" or "properties" in schema:
        return compile_schema(schema, ctx)
    if not required:
        return None
    if schema.get("type") == "array":
        return lambda env: []
    if schema.get("format") == "uuid":
        root = next(iter(ctx.roots))
        return lambda env: _uuid(env, root, ctx.path)
    defaults = {"string": "", "integer": 0, "number": 0.0, "boolean": False}
    if schema.get("type") in defaults:
        default = defaults[schema["type"]]
        return lambda env: default
    raise SpecError(ctx.where, "required property has no x-paymock source and no type to generate from")


def _uuid(env: Env, root: str, path: str) -> str:
    h = stable_hex((env.get(root) or {}).get("hex"), path)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def compile_schema(schema: Mapping[str, Any], ctx: Context) -> Render:
    """Compile a (resolved) record schema into a function of the fact environment.

    Args:
        schema: The schema with ``$ref`` already resolved.
        ctx: Location and readable roots.

    Raises:
        SpecError: On an unknown source, fact or malformed source.
    """
    spec = schema.get("x-paymock")
    if spec is not None:
        if not isinstance(spec, dict):
            raise SpecError(f"{ctx.where}.x-paymock", f"must be a mapping, got {spec!r}")
        keys = [k for k in spec if k in SOURCES]
        extra = set(spec) - set(SOURCES.names()) - {"strftime", "values", "default", "plus"}
        if len(keys) != 1 or extra:
            raise SpecError(
                f"{ctx.where}.x-paymock",
                f"needs exactly one source of: {', '.join(SOURCES.names())} "
                f"(plus strftime, values, default, plus); got {sorted(spec)}",
            )
        return SOURCES.get(keys[0], ctx.where)(
            spec[keys[0]], Context(f"{ctx.where}.x-paymock.{keys[0]}", ctx.roots, schema, ctx.path)
        )
    props = schema.get("properties")
    if props is None:
        made = generated(ctx, required=True)
        assert made is not None
        return made
    required = set(schema.get("required", ()))
    fields: list[tuple[str, Render]] = []
    for name, sub in props.items():
        sub_ctx = Context(f"{ctx.where}.properties.{name}", ctx.roots, sub, f"{ctx.path}.{name}")
        render = compile_schema(sub, sub_ctx) if "x-paymock" in sub else generated(sub_ctx, name in required)
        if render is not None:
            fields.append((name, render))

    def render_object(env: Env) -> dict[str, Any]:
        return {name: f(env) for name, f in fields}

    return render_object
