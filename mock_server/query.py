"""The names of a query string: which ones an operation reads, and what becomes of the others.

A vendor's server ignores a query parameter it does not know, and so does paymock; but a
silently ignored ``Limit`` or ``cursor`` costs a developer an afternoon, so paymock names every
ignored parameter in the :data:`IGNORED_HEADER` response header. A name given more than once is
read as the vendor's server most plausibly reads it (``x-paymock.query.repeated``: the first
occurrence, the last, or a refusal); when one occurrence is read, the name is in the header too.
Some vendors document that their filters take no comparison operators (``amount>10``, which
reaches the server as a parameter named ``amount>10``): ``x-paymock.query.operators`` lists the
characters that make such a name a refusal rather than an ignored parameter.

Everything is compiled per operation when the document loads; a request walks its query once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mock_server.errors import Problem, SpecError, reject_unknown_keys
from mock_server.registry import Registry

#: The response header naming the query parameters a request gave and the operation did not read.
IGNORED_HEADER = "Paymock-Ignored-Parameters"

#: Characters kept as they are in the header's names (besides letters, digits and ``_.-~``): every
#: printable ASCII character except the list's own separators (``,`` and space), ``%`` and ``"``.
_HEADER_SAFE = "!#$&'()*+/:;<=>?@[]^`{|}"

#: How a repeated name is read: (name, its values in order) -> the value read, or a refusal.
RepeatedRule = Callable[[str, Sequence[str]], "str | Problem"]
REPEATED_RULES: Registry[RepeatedRule] = Registry("repeated-parameter rule")


@REPEATED_RULES.register("first")
def _first(name: str, values: Sequence[str]) -> str | Problem:
    return values[0]


@REPEATED_RULES.register("last")
def _last(name: str, values: Sequence[str]) -> str | Problem:
    return values[-1]


@REPEATED_RULES.register("refuse")
def _refuse(name: str, values: Sequence[str]) -> str | Problem:
    given = ", ".join(repr(v) for v in values)
    return Problem(
        f"Query parameter {name!r} is given {len(values)} times ({given}); give it once",
        "value_error",
        ("query", name),
    )


@dataclass(frozen=True, slots=True)
class QueryRules:
    """An API's ``x-paymock.query`` block.

    Attributes:
        repeated: The rule for a name given more than once (a :data:`REPEATED_RULES` name).
        operators: Characters that make a parameter name a comparison the API refuses.
    """

    repeated: str = "first"
    operators: str = ""

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str) -> QueryRules:
        """Validate the block; every key is optional."""
        reject_unknown_keys(block, {"repeated", "operators"}, where)
        repeated = block.get("repeated", "first")
        REPEATED_RULES.get(repeated, f"{where}.repeated")
        operators = block.get("operators", [])
        if not isinstance(operators, list) or not all(isinstance(o, str) and len(o) == 1 for o in operators):
            raise SpecError(
                f"{where}.operators", f"must be a list of single characters such as ['<', '>'], got {operators!r}"
            )
        return cls(str(repeated), "".join(operators))

    def reader(self, names: Iterable[str]) -> QueryReader:
        """The reader of one operation, whose query parameters are ``names``."""
        return QueryReader(frozenset(names), REPEATED_RULES.get(self.repeated, "repeated"), self.operators)


@dataclass(frozen=True, slots=True)
class QueryReader:
    """Reads one operation's query string: the values it knows, the names it ignores, and refusals."""

    known: frozenset[str]
    repeated: RepeatedRule
    operators: str

    def read(self, query: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[str], list[Problem]]:
        """Split a query into the values read, the names ignored (in order, once each), and problems."""
        values: dict[str, str] = {}
        ignored: list[str] = []
        repeats: dict[str, list[str]] | None = None
        problems: list[Problem] = []
        for name, value in query:
            if name not in self.known:
                if self.operators and any(c in name for c in self.operators):
                    problems.append(self._operator(name))
                elif name not in ignored:
                    ignored.append(name)
            elif name in values:
                if repeats is None:
                    repeats = {}
                repeats.setdefault(name, [values[name]]).append(value)
            else:
                values[name] = value
        for name, given in (repeats or {}).items():
            read = self.repeated(name, given)
            if isinstance(read, Problem):
                problems.append(read)
            else:
                values[name] = read
                ignored.append(name)
        return values, ignored, problems

    def _operator(self, name: str) -> Problem:
        at = min(name.index(c) for c in self.operators if c in name)
        field, op = name[:at], name[at]
        hint = f"; use {field}=<value> for an exact match" if field in self.known else ""
        return Problem(
            f"Query parameter {name!r} uses the {op!r} operator, which this API's filters do not support{hint}",
            "value_error",
            ("query", name),
        )


def ignored_header(names: Sequence[str]) -> str:
    """The header's value: the names, comma-separated, percent-encoded where the list needs it."""
    return ", ".join(quote(n, safe=_HEADER_SAFE) for n in names)
