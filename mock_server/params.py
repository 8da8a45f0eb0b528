"""Request parameters and bodies: compiled from the document once, checked per request.

Values arrive as strings; they are cast by the schema's type and then validated with
openapi-schema-validator (compiled once per parameter). Every problem names the parameter,
the value and what is allowed, and carries a pydantic-style type for FastAPI-shaped errors.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from mock_server.columns import normalize_iso
from mock_server.errors import ApiError, Problem, SpecError, wire_text
from mock_server.filtering import Filter

_INT = re.compile(r"^[+-]?\d+$")
#: The UUID forms pydantic v2 (and so FastAPI) reads: 32 hex digits, hyphenated, hyphenated in
#: braces, or hyphenated after ``urn:uuid:``; hex digits in either case.
_HYPHENATED = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUID = re.compile(rf"^(?:{_HYPHENATED}|\{{{_HYPHENATED}\}}|urn:uuid:{_HYPHENATED}|[0-9a-fA-F]{{32}})$")
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|z|[+-]\d{2}:?\d{2})?)?$")


def _iso_instant(value: object) -> bool:
    """ISO 8601 as vendors' servers read it.

    That is RFC 3339, plus ``+0000`` offsets, no offset (UTC), a space for ``T``, nanoseconds, or a
    date alone: official clients send several of these layouts.
    """
    if not isinstance(value, str):
        return True  # not a string: the type check reports it
    if not _ISO_INSTANT.match(value):
        return False
    try:
        datetime.fromisoformat(normalize_iso(value))
    except ValueError:
        return False
    return True


#: OpenAPI's format checker, with ``date-time`` read as leniently as the vendors read it.
FORMATS = copy.deepcopy(oas30_format_checker)
FORMATS.checks("date-time")(_iso_instant)
_LOCATIONS = {"query": "query parameter", "header": "header", "path": "path parameter"}

#: jsonschema keyword -> pydantic-style problem type.
_PROBLEM_TYPES = {
    "maximum": "less_than_equal",
    "exclusiveMaximum": "less_than",
    "minimum": "greater_than_equal",
    "exclusiveMinimum": "greater_than",
    "enum": "enum",
    "pattern": "string_pattern_mismatch",
    "maxLength": "string_too_long",
    "minLength": "string_too_short",
    "type": "type_error",
}
_FORMAT_TYPES = {"uuid": "uuid_parsing", "date-time": "datetime_parsing", "date": "date_parsing"}


def _validator(schema: Mapping[str, Any]) -> OAS30Validator | None:
    constraint_keys = set(schema) - {
        "type",
        "description",
        "default",
        "example",
        "examples",
        "title",
        "x-paymock",
        "nullable",
    }
    if not constraint_keys:
        return None  # nothing to check beyond the cast
    return OAS30Validator(dict(schema), format_checker=FORMATS)


_NEUTRAL = {"type", "description", "default", "example", "examples", "title", "x-paymock", "nullable"}


def _fast_accept(schema: Mapping[str, Any]) -> Callable[[Any], bool] | None:
    """A plain-Python check that says "valid" exactly when the schema validator would.

    Only for schemas made of the common scalar keywords; anything else gets None and is always
    validated by openapi-schema-validator. A value the check refuses is validated again by the
    real validator, which writes the messages, so messages never come from here.
    """
    if set(schema) - _NEUTRAL - {"enum", "minimum", "maximum", "minLength", "maxLength", "pattern", "format"}:
        return None
    checks: list[Callable[[Any], bool]] = []
    if "enum" in schema:
        allowed = frozenset(schema["enum"])
        kinds = {type(v) for v in schema["enum"]}
        checks.append(lambda v: type(v) in kinds and v in allowed)
    if "minimum" in schema:
        low = schema["minimum"]
        checks.append(lambda v: not isinstance(v, int | float) or v >= low)
    if "maximum" in schema:
        high = schema["maximum"]
        checks.append(lambda v: not isinstance(v, int | float) or v <= high)
    if "minLength" in schema:
        shortest = schema["minLength"]
        checks.append(lambda v: not isinstance(v, str) or len(v) >= shortest)
    if "maxLength" in schema:
        longest = schema["maxLength"]
        checks.append(lambda v: not isinstance(v, str) or len(v) <= longest)
    if "pattern" in schema:
        pattern = re.compile(schema["pattern"])
        checks.append(lambda v: not isinstance(v, str) or pattern.search(v) is not None)
    if "format" in schema:
        fmt = schema["format"]
        checks.append(lambda v: bool(FORMATS.conforms(v, fmt)))
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    first, *rest = checks

    def accept(v: Any) -> bool:
        # A loop, not all() over a generator: this runs for every parameter a request gives.
        if not first(v):
            return False
        for check in rest:
            if not check(v):
                return False
        return True

    return accept


def _problems(
    validator: OAS30Validator | None, value: Any, label: str, loc: tuple[str, ...], pattern_detail: str | None = None
) -> list[Problem]:
    if validator is None:
        return []
    out = []
    for err in validator.iter_errors(value):
        keyword = str(err.validator)
        if keyword == "format":
            ptype = _FORMAT_TYPES.get(str(err.validator_value), "value_error")
            detail = f"expected a valid {err.validator_value}"
        elif keyword == "enum":
            ptype = "enum"
            detail = "allowed values are " + ", ".join(repr(v) for v in err.validator_value)
        elif keyword == "pattern":
            ptype = "string_pattern_mismatch"
            detail = pattern_detail or f"must match the pattern {err.validator_value!r}"
        else:
            ptype = _PROBLEM_TYPES.get(keyword, "value_error")
            detail = err.message
        out.append(Problem(f"Invalid value {value!r} for {label}: {detail}", ptype, loc))
    return out


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter, compiled.

    Attributes:
        name: Parameter name as on the wire.
        location: ``query``, ``header`` or ``path``.
        required: Whether it must be present.
        role: ``filter``, ``ignore``, or the role an action gave it (``pagination``, ``sort``,
            ``key``, ``scope``); ``None`` for tenant selectors.
        default: The schema's default, used when absent.
        filter: The compiled filter, for ``role == "filter"``.
        cast: Turns the raw text into the schema's type (raises ``ValueError(message, type)``).
        validator: Checks the cast value against the schema, writing the messages.
        fast: A plain-Python check that accepts exactly what ``validator`` accepts, when there is one.
        pattern_detail: What a pattern mismatch says, when the schema restates the pattern as a
            range (``minimum``/``maximum`` on a string of digits): "between 1 and 250", not the regex.
    """

    name: str
    location: str
    required: bool
    role: str | None
    default: Any
    filter: Filter | None
    cast: Callable[[str], Any]
    validator: OAS30Validator | None
    fast: Callable[[Any], bool] | None = None
    pattern_detail: str | None = None

    @property
    def label(self) -> str:
        """``query parameter 'limit'``: how messages name this parameter."""
        return f"{_LOCATIONS.get(self.location, self.location)} {self.name!r}"

    def parse(self, raw: str | None) -> tuple[Any, list[Problem]]:
        """Cast and validate one raw value; returns the value and any problems."""
        loc = (self.location, self.name)
        if raw is None:
            if self.required:
                return None, [Problem(f"Missing required {self.label}", "missing", loc)]
            return self.default, []
        if self.filter is not None and self.filter.null_literal is not None and raw == self.filter.null_literal:
            return raw, []
        if self.location == "header" and not raw.isascii():
            raw = wire_text(raw)
        try:
            value = self.cast(raw)
        except ValueError as exc:
            return None, [Problem(f"Invalid value {raw!r} for {self.label}: {exc}", _cast_type(exc), loc)]
        if self.fast is not None and self.fast(value):
            return value, []
        return value, _problems(self.validator, value, self.label, loc, self.pattern_detail)


def _cast_type(exc: ValueError) -> str:
    return str(exc.args[1]) if len(exc.args) > 1 else "value_error"


def _cast_for(schema: Mapping[str, Any]) -> Callable[[str], Any]:
    type_ = schema.get("type")
    if type_ == "integer":

        def cast_int(raw: str) -> int:
            if not _INT.match(raw):
                raise ValueError("expected an integer", "int_parsing")
            value = int(raw)
            # Vendors keep integers in 64 bits; beyond that no server accepts them.
            if not -(2**63) <= value < 2**63:
                raise ValueError("out of range for a 64-bit integer", "int_parsing")
            return value

        return cast_int
    if type_ == "number":

        def cast_number(raw: str) -> float:
            try:
                value = float(raw)
            except ValueError:
                raise ValueError("expected a number", "float_parsing") from None
            if not math.isfinite(value) or raw.strip() != raw:
                raise ValueError("expected a finite number", "float_parsing")
            return value

        return cast_number
    if type_ == "boolean":

        def cast_bool(raw: str) -> bool:
            if raw not in ("true", "false"):
                raise ValueError("expected 'true' or 'false'", "bool_parsing")
            return raw == "true"

        return cast_bool
    if type_ == "string" and schema.get("format") == "uuid":
        return _cast_uuid
    return str


def _cast_uuid(raw: str) -> str:
    """A UUID in its canonical form (lower case, hyphenated), read as pydantic v2 reads one."""
    if not _UUID.match(raw):
        raise ValueError(
            "expected a UUID (32 hex digits, optionally hyphenated 8-4-4-4-12, in braces or after urn:uuid:)",
            "uuid_parsing",
        )
    digits = raw.rsplit(":", 1)[-1].strip("{}").replace("-", "").lower()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def _pattern_detail(schema: Mapping[str, Any]) -> str | None:
    """For a string of digits whose schema restates its pattern's range, the range in words."""
    if schema.get("type") == "string" and "pattern" in schema and "minimum" in schema and "maximum" in schema:
        return f"must be a whole number between {schema['minimum']} and {schema['maximum']}"
    return None


def compile_param(param: Mapping[str, Any], where: str, roles: Mapping[str, str], filter_: Filter | None) -> ParamSpec:
    """Compile a resolved parameter object.

    Args:
        param: The parameter with ``$ref``s resolved.
        where: Its document location.
        roles: Parameter name -> role, as the operation's action claims them.
        filter_: The compiled filter when the parameter declares one.
    """
    location = param.get("in")
    if location not in _LOCATIONS:
        raise SpecError(where, f"parameters in {location!r} are not supported; use query, header or path")
    schema = param.get("schema", {})
    block = param.get("x-paymock") or {}
    role = "filter" if filter_ is not None else "ignore" if "ignore" in block else roles.get(param["name"])
    return ParamSpec(
        name=str(param["name"]),
        location=str(location),
        required=bool(param.get("required", location == "path")),
        role=role,
        default=schema.get("default"),
        filter=filter_,
        cast=_cast_for(schema),
        # The sorter parses its own parameter and names the sortable fields when refusing one.
        validator=None if role == "sort" else _validator(schema),
        fast=None if role == "sort" else _fast_accept(schema),
        pattern_detail=_pattern_detail(schema),
    )


@dataclass(frozen=True, slots=True)
class BodySpec:
    """A request body: which media types it takes and how each is validated."""

    required: bool
    media: Mapping[str, OAS30Validator]

    def parse(self, body: bytes, content_type: str | None) -> Any:
        """Decode and validate a body; raises :class:`ApiError` (``invalid_body`` or ``unsupported_media_type``)."""
        if not body.strip():
            if self.required:
                raise ApiError.of("invalid_body", "A request body is required", "missing", ("body",))
            return None
        media = (content_type or "").split(";")[0].strip().lower() or "application/json"
        validator = self.media.get(media)
        if validator is None:
            raise ApiError.of(
                "unsupported_media_type",
                f"Unsupported Content-Type {media!r}; send one of: {', '.join(self.media)}",
                "value_error",
                ("header", "Content-Type"),
            )
        if media == "application/x-www-form-urlencoded":
            try:
                value: Any = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True))
            except (UnicodeDecodeError, ValueError):
                raise ApiError.of(
                    "invalid_body", "The body is not valid form encoding", "value_error", ("body",)
                ) from None
        else:
            try:
                value = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise ApiError.of(
                    "invalid_body", f"The body is not valid JSON: {exc}", "json_invalid", ("body",)
                ) from None
        problems = []
        for err in validator.iter_errors(value):
            path = [str(p) for p in err.absolute_path]
            field = ".".join(path) or "body"
            problems.append(
                Problem(
                    f"Invalid request body at {field!r}: {err.message}",
                    _PROBLEM_TYPES.get(str(err.validator), "value_error"),
                    ("body", *path),
                )
            )
        if problems:
            raise ApiError("invalid_body", problems)
        return value


def compile_body(request_body: Mapping[str, Any], where: str) -> BodySpec:
    """Compile a resolved ``requestBody`` object."""
    content = request_body.get("content", {})
    if not content:
        raise SpecError(where, "requestBody needs at least one media type under content")
    return BodySpec(
        required=bool(request_body.get("required", False)),
        media={str(m): OAS30Validator(dict(c.get("schema", {})), format_checker=FORMATS) for m, c in content.items()},
    )
