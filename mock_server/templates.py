"""Body templates from ``x-paymock``: envelopes and error bodies, compiled once per document.

A template is plain JSON-like data in which:

* a string ``"$name"`` is replaced by the variable ``name``;
* a key ending in ``?`` is left out when its value is ``None``;
* an object holding ``$when: $name`` renders as ``null`` when ``name`` is ``None``.

Variables named in ``raw`` hold ready-serialised JSON (the stored records) and are spliced into the
output without being parsed again, which keeps list pages cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import orjson

from mock_server.errors import SpecError

_OMIT = object()
Node = Callable[[Mapping[str, Any]], Any]


def _raw_token(name: str) -> str:
    return f"__paymock_raw_{name}__"


class Template:
    """A compiled template.

    Args:
        source: The template as written in the document.
        where: Its location, for error messages.
        known: The variable names that may be used.
        raw: Variables whose values are serialised JSON bytes.
    """

    def __init__(self, source: Any, where: str, known: Collection[str], raw: Collection[str] = ()) -> None:
        self.source = source
        self.variables: set[str] = set()
        self._known = set(known)
        self._raw = set(raw)
        self._where = where
        self._root = self._compile(source, where)
        # Each raw variable used, with its placeholder as it appears in the serialised output.
        used = sorted(self._raw & self.variables)
        self._raw_used = [(name, b'"' + _raw_token(name).encode() + b'"') for name in used]

    def _compile(self, node: Any, where: str) -> Node:
        if isinstance(node, str) and node.startswith("$"):
            name = node[1:]
            if name not in self._known:
                raise SpecError(where, f"unknown variable {node!r}; available: {', '.join(sorted(self._known))}")
            self.variables.add(name)
            if name in self._raw:
                token = _raw_token(name)
                return lambda env: token
            return lambda env: env.get(name)
        if isinstance(node, dict):
            return self._compile_object(node, where)
        if isinstance(node, list):
            items = [self._compile(v, f"{where}[{i}]") for i, v in enumerate(node)]
            return lambda env: [f(env) for f in items]
        return lambda env: node

    def _compile_object(self, node: dict[str, Any], where: str) -> Node:
        guard: str | None = None
        if "$when" in node:
            when = node["$when"]
            if not (isinstance(when, str) and when.startswith("$") and when[1:] in self._known):
                raise SpecError(f"{where}.$when", f"must name a variable, got {when!r}")
            guard = when[1:]
            self.variables.add(guard)
        fields: list[tuple[str, bool, Node]] = []
        for key, value in node.items():
            if key == "$when":
                continue
            optional = key.endswith("?")
            name = key[:-1] if optional else key
            fields.append((name, optional, self._compile(value, f"{where}.{key}")))

        def render(env: Mapping[str, Any]) -> Any:
            if guard is not None and env.get(guard) is None:
                return None
            out: dict[str, Any] = {}
            for name, optional, f in fields:
                value = f(env)
                if optional and value is None:
                    continue
                out[name] = value
            return out

        return render

    def render(self, env: Mapping[str, Any]) -> Any:
        """Render to plain data (raw variables appear as placeholder tokens)."""
        return self._root(env)

    def dumps(self, env: Mapping[str, Any]) -> bytes:
        """Render and serialise to JSON bytes, splicing raw variables in place."""
        body = orjson.dumps(self._root(env))
        for name, placeholder in self._raw_used:
            body = body.replace(placeholder, env[name], 1)
        return body


def find_list(node: Any, key: str) -> list[Any] | None:
    """Return the list stored under ``key`` anywhere in ``node`` (first match, depth first)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k.rstrip("?") == key and isinstance(v, list):
                return v
            found = find_list(v, key)
            if found is not None:
                return found
    elif isinstance(node, list):
        for v in node:
            found = find_list(v, key)
            if found is not None:
                return found
    return None
