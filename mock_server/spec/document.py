"""Reading a document: where the bundled ones live, the YAML loader, ``$ref``s and node checks.

The helpers every compile step shares: a node that must be a mapping or a flag fails with a
:class:`~mock_server.errors.SpecError` naming the dotted path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from mock_server.errors import SpecError


def openapi_dir() -> Path:
    """The directory holding the bundled documents (the repository's ``openapi/``)."""
    # The package directory (this is mock_server/spec/document.py): the documents sit beside it
    # in a checkout, inside it as _openapi/ in a wheel.
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "openapi", here / "_openapi"):
        if candidate.is_dir():
            return candidate
    raise SpecError(str(here), "cannot find the bundled openapi/ directory")


def available_apis() -> list[str]:
    """Short names of the bundled APIs, sorted."""
    return sorted(p.stem for p in openapi_dir().glob("*.yaml"))


class Resolver:
    """Resolves local ``$ref``s (``#/components/...``), the only kind the documents use."""

    def __init__(self, document: Mapping[str, Any], where: str) -> None:
        self.document = document
        self.where = where

    def lookup(self, ref: str) -> Any:
        """Return the node a ``$ref`` points at."""
        if not ref.startswith("#/"):
            raise SpecError(self.where, f"only local $refs are supported, got {ref!r}")
        node: Any = self.document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                raise SpecError(self.where, f"$ref {ref!r} does not resolve")
            node = node[part]
        return node

    def resolve(self, node: Any, seen: tuple[str, ...] = ()) -> Any:
        """Return ``node`` with every ``$ref`` replaced by a resolved copy of its target."""
        if isinstance(node, Mapping):
            if "$ref" in node:
                ref = node["$ref"]
                if ref in seen:
                    raise SpecError(self.where, f"recursive $ref {ref!r} is not supported in records")
                return self.resolve(self.lookup(ref), (*seen, ref))
            return {k: self.resolve(v, seen) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v, seen) for v in node]
        return node


def _mapping(node: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(node, Mapping):
        raise SpecError(where, f"must be a mapping, got {type(node).__name__}")
    return node


def _flag(block: Mapping[str, Any], key: str, where: str) -> bool:
    value = block.get(key, False)
    if not isinstance(value, bool):
        raise SpecError(f"{where}.{key}", f"must be true or false, got {value!r}")
    return value


#: libyaml's safe loader when PyYAML has it (five times faster: every start of the server reads
#: all five documents), the pure-Python one otherwise; both build plain data only.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
