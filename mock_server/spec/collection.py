"""Compiling one ``x-paymock.collections.<name>`` block: its columns, statuses and renderers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mock_server.codegen import compile_columns, compile_record, compile_row
from mock_server.columns import COLUMN_TYPES
from mock_server.errors import SpecError, reject_unknown_keys
from mock_server.lifecycle.schedule import Lifecycle, load_lifecycle
from mock_server.records import Context
from mock_server.spec.document import Resolver, _flag, _mapping
from mock_server.spec.model import CollectionSpec, Column
from mock_server.store.base import CREATION, RECORD_ID
from mock_server.world import PAYMENT_FACTS, PHASES, TIME_FACTS
from mock_server.world.own import load_fixture_statuses

#: Column names the store uses for itself: the creation order and the record's ID.
RESERVED_COLUMNS = (CREATION, RECORD_ID)


def _load_columns(block: Mapping[str, Any], table: str, where: str) -> dict[str, Column]:
    columns = {}
    for name, col in _mapping(block, where).items():
        cwhere = f"{where}.{name}"
        col = _mapping(col, cwhere)
        reject_unknown_keys(col, {"path", "type", "parse", "creation-order"}, cwhere)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise SpecError(cwhere, "column names are identifiers (letters, digits, _)")
        path = tuple(int(p) if p.isdigit() else p for p in str(col.get("path", name)).split("."))
        if name in RESERVED_COLUMNS:
            raise SpecError(cwhere, f"{name!r} is reserved by the store; name the column otherwise")
        columns[name] = Column(
            name=name,
            ctype=COLUMN_TYPES.get(col.get("type", "text"), f"{cwhere}.type"),
            path=path,
            parse=col.get("parse"),
            creation_ordered=_flag(col, "creation-order", cwhere),
        )
    ordered = [c.name for c in columns.values() if c.creation_ordered]
    if len(ordered) > 1:
        raise SpecError(where, f"at most one column is creation-order: true; got {', '.join(ordered)}")
    return columns


def _load_collection(name: str, block: Mapping[str, Any], api: str, resolver: Resolver, where: str) -> CollectionSpec:
    reject_unknown_keys(
        block, {"entity", "size", "schema", "id", "statuses", "columns", "lifecycle", "fixtures"}, where
    )
    entity = block.get("entity")
    if entity not in ("payment", "subscription"):
        raise SpecError(f"{where}.entity", f"unknown entity {entity!r}; available: payment, subscription")
    statuses: dict[str, tuple[float, str]] = {}
    for status, spec in _mapping(block.get("statuses", {}), f"{where}.statuses").items():
        swhere = f"{where}.statuses.{status}"
        spec = _mapping(spec, swhere)
        if spec.get("phase") not in PHASES:
            raise SpecError(
                f"{swhere}.phase",
                f"unknown phase {spec.get('phase')!r}; available: {', '.join(PHASES)}",
            )
        weight = spec.get("weight")
        if not isinstance(weight, int | float) or weight < 0:
            raise SpecError(f"{swhere}.weight", f"must be a non-negative number, got {weight!r}")
        statuses[str(status)] = (float(weight), spec["phase"])
    if entity == "payment" and not statuses:
        raise SpecError(f"{where}.statuses", "a payment collection must declare its statuses")
    schema_ref = block.get("schema")
    if not isinstance(schema_ref, str):
        raise SpecError(f"{where}.schema", "must be a $ref string like '#/components/schemas/Payment'")
    schema = resolver.resolve({"$ref": schema_ref})
    id_field = str(block.get("id"))
    if id_field not in schema.get("properties", {}):
        raise SpecError(f"{where}.id", f"{id_field!r} is not a property of {schema_ref}")
    file_part = where.split(":", 1)[0]
    record_ctx = Context(
        f"{file_part}: {schema_ref.lstrip('#/').replace('/', '.')}",
        {entity: entity, "tenant": "tenant"},
        schema,
        entity,
    )
    render = compile_record(schema, record_ctx)
    table = f"r_{api}_{name}"
    size = block.get("size")
    if size is not None and (not isinstance(size, int) or size < 0):
        raise SpecError(f"{where}.size", f"must be a non-negative integer, got {size!r}")
    columns = _load_columns(block.get("columns", {}), table, f"{where}.columns")
    return CollectionSpec(
        name=name,
        table=table,
        entity=entity,
        size=size,
        id_field=id_field,
        statuses=statuses,
        columns=columns,
        render=render,
        extract=compile_columns(list(columns.values())),
        render_row=compile_row(schema, record_ctx, list(columns.values())),
        lifecycle=_load_lifecycle(block, entity, statuses, columns, where),
        fixture_statuses=load_fixture_statuses(block.get("fixtures"), statuses, f"{where}.fixtures"),
    )


def _load_lifecycle(
    block: Mapping[str, Any], entity: str, statuses: Mapping[str, Any], columns: Mapping[str, Column], where: str
) -> Lifecycle | None:
    if "lifecycle" in block and entity != "payment":
        raise SpecError(f"{where}.lifecycle", f"only payment collections move in sandbox time, not {entity!r} ones")
    facts = frozenset(PAYMENT_FACTS)
    return load_lifecycle(block.get("lifecycle"), statuses, columns, facts, facts & TIME_FACTS, f"{where}.lifecycle")
