"""Compile a record schema into one generated Python function.

:func:`mock_server.records.compile_schema` turns a schema into a tree of closures: clear, and the
reference for what a record is. Seeding renders every record of a world once (a million payments
are tens of millions of fields), and there a call per field per level is most of the cost. This
module flattens the same tree into the source of one function: fact reads (``from``),
templates, value maps and object nesting become inline statements and dict displays, weighted
picks draw from a seed computed once per record; every other source stays the closure
``compile_schema`` built, called from the generated code. The result is the same record (a test
compares both on every bundled document). :func:`compile_columns` does the same for reading a
record's typed columns back, and :func:`compile_row` gives a record and its columns in one call.

Nothing from a document is pasted into the source as code: keys are written with :func:`repr`
(always a plain string literal) and values, formatters and closures are passed in the function's
namespace.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mock_server.columns import COLUMN_TYPES, READ_BACK_RANGE, SqlValue, reads_back
from mock_server.records import (
    Context,
    Env,
    PickTable,
    Render,
    as_is,
    as_string,
    choice_seed,
    compile_schema,
    fact_kind,
    formatter,
    generated,
    template_pieces,
    time_pattern,
)
from mock_server.world import TIME_FACTS

if TYPE_CHECKING:
    from mock_server.spec import Column

__all__ = ["RenderRow", "compile_columns", "compile_record", "compile_row"]


def compile_record(schema: Mapping[str, Any], ctx: Context) -> Render:
    """Like :func:`~mock_server.records.compile_schema` (same validation, same records), but faster.

    Args:
        schema: The record schema with ``$ref`` already resolved.
        ctx: Location and readable roots.

    Raises:
        SpecError: On an unknown source, fact or malformed source.
    """
    gen, result = _generate(schema, ctx, ())
    render: Render = _define("render", gen, [f"return {result}"], {}, ctx)
    return render


RenderRow = Callable[[Env], tuple[Any, list[SqlValue]]]


def compile_row(schema: Mapping[str, Any], ctx: Context, columns: Sequence[Column]) -> RenderRow:
    """A record and its columns' stored values in one call: ``(record, values)``.

    The same as :func:`compile_record`'s record and :func:`compile_columns`' values for it (a
    test compares them on every bundled document), for seeding, which needs both for every
    record. A column of a field the function itself builds reads the field's variable instead of
    looking it up, and a date or date-time shown from a time fact stores the fact (or its day's
    midnight, or the shown text) without reading the text back, where
    :func:`~mock_server.columns.reads_back` says that gives the same value.
    """
    gen, result = _generate(schema, ctx, {c.path for c in columns})
    lines = [f"doc = {result}"]
    bound: dict[str, Any] = {}
    for i, column in enumerate(columns):
        bound[f"load{i}"], bound[f"parse{i}"] = column.ctype.load, column.parse
        field = gen.fields.get(column.path)
        if field is None:
            lines += _lookup(i, column)
            continue
        raw, pattern = gen.origins.get(field, (field, None))
        how = reads_back(column.ctype, column.parse, pattern) if pattern is not None else None
        stored = f"load{i}({field}, parse{i})"
        in_range = f"{raw}.__class__ is int and {READ_BACK_RANGE.start} <= {raw} < {READ_BACK_RANGE.stop}"
        if how == "instant":
            stored = f"{raw} if {in_range} else {stored}"
        elif how == "midnight":
            stored = f"{raw} - {raw} % 86400 if {in_range} else {stored}"
        elif how == "text":
            stored = f"{field} if {in_range} else {stored}"
        elif column.ctype is COLUMN_TYPES.get("text", "columns"):
            stored = f"{field} if {field}.__class__ is str else {stored}"
        lines.append(f"c{i} = {stored}")
    lines.append(f"return doc, [{', '.join(f'c{i}' for i in range(len(columns)))}]")
    render_row: RenderRow = _define("render_row", gen, lines, bound, ctx)
    return render_row


#: A field's place in a record: property names (and, in a column's path, array indexes).
FieldPath = tuple[str | int, ...]


def _generate(schema: Mapping[str, Any], ctx: Context, wanted: Collection[FieldPath]) -> tuple[_Generator, str]:
    """Validate ``schema`` and generate its statements; returns the generator and the record's expression."""
    compile_schema(schema, ctx)  # validates the whole schema, with its errors and locations
    gen = _Generator(wanted)
    return gen, gen.value(schema, ctx, ())


def _define(name: str, gen: _Generator, tail: list[str], bound: dict[str, Any], ctx: Context) -> Any:
    """Compile ``def name(env)``: the generator's root reads and statements, then ``tail``."""
    roots = "".join(f"    {var} = env.get({root!r})\n" for root, var in gen.roots.items())
    # A missing root reads as a mapping of nothing: every fact of it is None, with no test per read.
    roots += "".join(f"    m{var} = NOTHING if {var} is None else {var}\n" for var in gen.roots.values())
    roots += "".join(f"    {seed} = choice_seed({gen.roots[root]})\n" for root, seed in gen.seeds.items())
    body = "".join(f"    {line}\n" for line in [*gen.lines, *tail])
    source = f"def {name}(env):\n{roots}{body}"
    namespace: dict[str, Any] = {"choice_seed": choice_seed, "NOTHING": _NOTHING, **gen.bound, **bound}
    # The source holds only generated names and repr() literals: see the module docstring.
    exec(compile(source, f"<paymock record {ctx.where}>", "exec"), namespace)
    return namespace[name]


class _Nothing(dict[str, Any]):
    """The facts of a missing root: none (reading any gives None)."""

    def __missing__(self, key: str) -> None:
        return None


_NOTHING = _Nothing()


class _Generator:
    """Accumulates the statements, root reads and bound objects of one generated function."""

    def __init__(self, wanted: Collection[FieldPath] = ()) -> None:
        self.wanted = wanted  # paths of fields to keep in variables (see fields)
        self.fields: dict[FieldPath, str] = {}  # wanted path -> variable or name holding it
        self.origins: dict[str, tuple[str, str]] = {}  # variable -> (fact variable, strftime layout shown with)
        self.lines: list[str] = []
        self.reads: dict[tuple[str, ...], str] = {}  # fact path -> variable holding it, read once
        self.roots: dict[str, str] = {}
        self.seeds: dict[str, str] = {}  # root -> variable holding its choice seed
        self.bound: dict[str, Any] = {}

    def bind(self, obj: Any) -> str:
        name = f"b{len(self.bound)}"
        self.bound[name] = obj
        return name

    def root(self, name: str) -> str:
        return self.roots.setdefault(name, f"r{len(self.roots)}")

    def closure(self, made: Render) -> str:
        """An expression calling a compiled closure; picks draw from a seed computed once per record."""
        if isinstance(made, PickTable):
            self.root(made.root)
            seed = self.seeds.setdefault(made.root, f"s{len(self.seeds)}")
            return f"{self.bind(made)}.choose({seed})"
        return f"{self.bind(made)}(env)"

    def value(self, schema: Mapping[str, Any], ctx: Context, path: tuple[str, ...]) -> str:
        """An expression for the value at ``path`` (statements it needs are appended to ``lines``)."""
        spec = schema.get("x-paymock")
        if isinstance(spec, dict) and "from" in spec:
            return self._from(str(spec["from"]), ctx)
        if isinstance(spec, dict) and "const" in spec:
            return self.bind(spec["const"])  # the same object every time, as the closure returns it
        if isinstance(spec, dict) and "template" in spec:
            return self._template(spec["template"], ctx)
        if isinstance(spec, dict) and "map" in spec and "plus" not in spec:
            parts, _ = fact_kind(str(spec["map"]), ctx)
            return f"{self.bind(spec['values'])}.get({self._read(parts)}, {self.bind(spec.get('default'))})"
        if spec is not None:
            return self.closure(compile_schema(schema, ctx))
        props = schema.get("properties")
        if props is None:
            made = generated(ctx, required=True)
            assert made is not None
            return self.closure(made)
        required = set(schema.get("required", ()))
        fields = []
        for name, sub in props.items():
            sub_ctx = Context(f"{ctx.where}.properties.{name}", ctx.roots, sub, f"{ctx.path}.{name}")
            sub_path = (*path, name)
            is_object = sub.get("type") == "object" or "properties" in sub
            nested = is_object and not sub.get("nullable") and "enum" not in sub
            if "x-paymock" in sub or nested:
                expr = self.value(sub, sub_ctx, sub_path)
            elif sub.get("nullable"):
                expr = "None"  # what generated gives a nullable property without a source
            else:
                made = generated(sub_ctx, name in required)
                if made is None:
                    continue
                expr = self.closure(made)
            if sub_path in self.wanted:
                if not expr.isidentifier():  # computed once, for the record and for its column
                    out = f"f{len(self.lines)}"
                    self.lines.append(f"{out} = {expr}")
                    expr = out
                self.fields[sub_path] = expr
            fields.append(f"{name!r}: {expr}")
        return "{" + ", ".join(fields) + "}"

    def _read(self, parts: list[str]) -> str:
        """A variable holding the fact at ``parts`` (None when a step on the way is missing).

        Each path is read once per record and its variable never assigned again: a record
        shows some facts in several fields (a payment's method decides four of them).
        """
        known = self.reads.get(tuple(parts))
        if known is not None:
            return known
        if len(parts) == 1:
            return self.root(parts[0])
        if len(parts) == 2:
            out = f"f{len(self.lines)}"
            self.lines.append(f"{out} = m{self.root(parts[0])}[{parts[1]!r}]")
        else:
            step = self._read(parts[:-1])
            out = f"f{len(self.lines)}"
            self.lines.append(f"{out} = None if {step} is None else {step}[{parts[-1]!r}]")
        self.reads[tuple(parts)] = out
        return out

    def _template(self, value: Any, ctx: Context) -> str:
        parts, facts = [], []
        for literal, path, spec in template_pieces(value, ctx):
            if literal:
                parts.append(repr(literal))
            if path is not None:
                var = self._read(path)
                facts.append(var)
                parts.append(f"format({var}, {spec!r})")
        text = f"''.join(({', '.join(parts)},))" if parts else "''"
        if not facts:
            return text
        out = f"f{len(self.lines)}"
        # A template over a missing fact is missing, not "None".
        self.lines.append(f"{out} = None if None in ({', '.join(facts)},) else {text}")
        return out

    def _from(self, path: str, ctx: Context) -> str:
        parts, _ = fact_kind(path, ctx)
        read = self._read(parts)
        shape = formatter(ctx, parts[-1] in TIME_FACTS)
        if shape is as_is:
            return read
        out = f"f{len(self.lines)}"  # shaped into a variable of its own: the read may be shared
        pattern = time_pattern(ctx, parts[-1] in TIME_FACTS)
        if pattern is not None:
            self.origins[out] = (read, pattern)
        if shape is as_string:
            self.lines.append(f"{out} = {read} if {read} is None or {read}.__class__ is str else str({read})")
        else:
            self.lines.append(f"{out} = None if {read} is None else {self.bind(shape)}({read})")
        return out


def compile_columns(columns: Sequence[Column]) -> Callable[[Any], list[SqlValue]]:
    """One function giving every column's stored value for a rendered record, in ``columns``' order.

    The same values as each :meth:`~mock_server.spec.Column.extract` (a test compares both), as
    one call per record instead of a call and a loop per column: seeding extracts tens of
    millions. Text already a string is kept without calling its loader.
    """
    lines: list[str] = []
    bound: dict[str, Any] = {}
    for i, column in enumerate(columns):
        bound[f"load{i}"], bound[f"parse{i}"] = column.ctype.load, column.parse
        lines += _lookup(i, column)
    values = ", ".join(f"c{i}" for i in range(len(columns)))
    source = "def extract(doc):\n" + "".join(f"    {line}\n" for line in lines) + f"    return [{values}]\n"
    namespace: dict[str, Any] = dict(bound)
    # Paths are written with repr() (string and integer literals only): see the module docstring.
    exec(compile(source, "<paymock columns>", "exec"), namespace)
    extract: Callable[[Any], list[SqlValue]] = namespace["extract"]
    return extract


def _lookup(i: int, column: Column) -> list[str]:
    """Statements setting ``c<i>`` to ``column``'s stored value, looked up in the record ``doc``."""
    steps = "".join(f"[{step!r}]" for step in column.path)
    stored = f"load{i}(v, parse{i})"
    if column.ctype is COLUMN_TYPES.get("text", "columns"):
        stored = f"v if v.__class__ is str else {stored}"
    return [
        "try:",
        f"    v = doc{steps}",
        "except (KeyError, IndexError, TypeError):",
        f"    c{i} = None",
        "else:",
        f"    c{i} = {stored}",
    ]
