"""The vendor's error body, from ``x-paymock.errors``: one template, one status and code per kind."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from mock_server.errors import ERROR_KINDS, ApiError, Problem, SpecError, reject_unknown_keys
from mock_server.templates import Template, find_list

VARIABLES = ("status", "code", "message", "type", "loc", "param", "request_id", "process_id")


@dataclass(frozen=True, slots=True)
class ErrorKind:
    """How one kind of error is answered."""

    status: int
    code: str
    body: Template
    repeat: str | None


class ErrorFormat:
    """Renders :class:`ApiError` in the vendor's own shape.

    Args:
        kinds: Error kind -> how it is answered.
        media_type: Content type of error bodies.
    """

    def __init__(self, kinds: Mapping[str, ErrorKind], media_type: str) -> None:
        self.kinds = kinds
        self.media_type = media_type

    @classmethod
    def load(cls, block: Mapping[str, Any], where: str, media_type: str) -> ErrorFormat:
        """Compile the ``errors`` block; every kind in :data:`ERROR_KINDS` must be declared."""
        reject_unknown_keys(block, {"body", "repeat", "kinds", "media-type"}, where)
        kinds_block = block.get("kinds")
        if not isinstance(kinds_block, Mapping):
            raise SpecError(f"{where}.kinds", "must map each error kind to {status, code}")
        missing = [k for k in ERROR_KINDS if k not in kinds_block]
        extra = [k for k in kinds_block if k not in ERROR_KINDS]
        if missing or extra:
            raise SpecError(
                f"{where}.kinds",
                f"must declare exactly the kinds {', '.join(ERROR_KINDS)}"
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + (f"; unknown: {', '.join(extra)}" if extra else ""),
            )
        default_body = block.get("body")
        kinds = {}
        for kind, spec in kinds_block.items():
            kwhere = f"{where}.kinds.{kind}"
            if not isinstance(spec, Mapping) or not isinstance(spec.get("status"), int):
                raise SpecError(kwhere, "must be {status: <int>, code: <string>, body?: <template>}")
            source = spec.get("body", default_body)
            if source is None:
                raise SpecError(kwhere, "no body template: give errors.body or a body for this kind")
            repeat = spec.get("repeat", block.get("repeat")) if "body" not in spec else spec.get("repeat")
            if repeat is not None and not find_list(source, repeat):
                raise SpecError(
                    kwhere,
                    f"repeat names {repeat!r}, but the body template has no list under that key",
                )
            kinds[str(kind)] = ErrorKind(
                status=spec["status"],
                code=str(spec.get("code", "")),
                body=Template(source, f"{kwhere}.body", VARIABLES),
                repeat=repeat,
            )
        return cls(kinds, str(block.get("media-type", media_type)))

    def render(self, error: ApiError, status: int | None = None) -> tuple[int, bytes]:
        """Status and body for an error; ``status`` answers with another status than the kind's (503)."""
        kind = self.kinds.get(error.kind) or self.kinds["internal"]
        problems = error.problems or [Problem("Unknown error", error.kind)]
        status = kind.status if status is None else status
        base = {
            "status": status,
            "code": kind.code,
            "request_id": str(uuid.uuid4()),
            "process_id": uuid.uuid4().hex[:16].upper(),
        }
        body = kind.body.render({**base, **_problem_vars(problems[0])})
        if kind.repeat is not None:
            items = find_list(kind.body.source, kind.repeat)
            assert items is not None
            item_template = Template(items[0], "repeat", VARIABLES)
            target = find_list(body, kind.repeat)
            assert target is not None
            target[:] = [item_template.render({**base, **_problem_vars(p)}) for p in problems]
        return status, orjson.dumps(body)


def _problem_vars(problem: Problem) -> dict[str, Any]:
    return {
        "message": problem.message,
        "type": problem.type,
        "loc": list(problem.loc),
        "param": str(problem.loc[-1]) if problem.loc else None,
    }
