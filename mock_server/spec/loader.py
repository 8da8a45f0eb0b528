"""Load an API: validate the document, then compile its ``x-paymock`` root and every operation.

The entry points :func:`load_api` and :func:`load_apis`; collections are compiled by
:mod:`mock_server.spec.collection`, and the result is the model of :mod:`mock_server.spec.model`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mock_server.error_format import ErrorFormat
from mock_server.errors import SpecError, reject_unknown_keys
from mock_server.filtering import FILTER_OPERATORS, Filter
from mock_server.params import compile_body, compile_param
from mock_server.query import QueryRules
from mock_server.spec.collection import _load_collection
from mock_server.spec.document import _YAML_LOADER, Resolver, _flag, _mapping, openapi_dir
from mock_server.spec.model import ApiSpec, CollectionSpec, OperationSpec, ResponseSettings, Selector
from mock_server.world import WorldConfig

if TYPE_CHECKING:
    from mock_server.actions import Action

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
ROOT_KEYS = {"name", "tenancy", "auth", "errors", "responses", "collections", "world", "query"}


def _flask_rule(path: str) -> str:
    return re.sub(r"\{([^}/]+)\}", r"<\1>", path)


def load_api(path: Path | str, *, validate_document: bool = True) -> ApiSpec:
    """Load, validate and compile one document.

    Args:
        path: ``openapi/<name>.yaml``.
        validate_document: Run openapi-spec-validator (skip only where a caller already did).

    Raises:
        SpecError: Naming the file, the dotted path and what is allowed.
    """
    from mock_server.actions import ACTIONS, OperationContext
    from mock_server.auth import AUTH_SCHEMES

    file = Path(path)
    where0 = f"openapi/{file.name}"
    try:
        document = yaml.load(file.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(where0, f"cannot read the document: {exc}") from None
    document = _mapping(document, where0)
    if validate_document:
        from openapi_spec_validator import validate
        from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

        try:
            validate(copy.deepcopy(dict(document)))
        except OpenAPIValidationError as exc:
            raise SpecError(where0, f"not a valid OpenAPI document: {exc}") from None
    root = _mapping(document.get("x-paymock"), f"{where0}: x-paymock")
    rwhere = f"{where0}: x-paymock"
    reject_unknown_keys(root, ROOT_KEYS, rwhere)
    name = root.get("name")
    if name != file.stem:
        raise SpecError(f"{rwhere}.name", f"must equal the file name {file.stem!r}, got {name!r}")
    resolver = Resolver(document, where0)

    tenancy = _mapping(root.get("tenancy", {}), f"{rwhere}.tenancy")
    reject_unknown_keys(tenancy, {"count", "selectors"}, f"{rwhere}.tenancy")
    selectors = []
    for i, sel in enumerate(tenancy.get("selectors", [])):
        swhere = f"{rwhere}.tenancy.selectors[{i}]"
        sel = _mapping(sel, swhere)
        reject_unknown_keys(sel, {"in", "name", "value", "required", "mismatch"}, swhere)
        if sel.get("in") not in ("header", "path"):
            raise SpecError(f"{swhere}.in", f"must be 'header' or 'path', got {sel.get('in')!r}")
        if sel.get("mismatch", "forbidden") not in ("forbidden", "not_found", "unauthorized"):
            raise SpecError(f"{swhere}.mismatch", "must be one of: forbidden, not_found, unauthorized")
        selectors.append(
            Selector(
                sel["in"],
                str(sel.get("name")),
                str(sel.get("value")),
                bool(sel.get("required", False)),
                sel.get("mismatch", "forbidden"),
            )
        )

    responses = _mapping(root.get("responses", {}), f"{rwhere}.responses")
    reject_unknown_keys(responses, {"media-type", "echo-headers", "gzip-min-bytes"}, f"{rwhere}.responses")
    settings = ResponseSettings(
        media_type=str(responses.get("media-type", "application/json")),
        echo_headers=tuple(responses.get("echo-headers", ())),
        gzip_min_bytes=responses.get("gzip-min-bytes"),
    )
    query_rules = QueryRules.load(_mapping(root.get("query", {}), f"{rwhere}.query"), f"{rwhere}.query")
    errors = ErrorFormat.load(_mapping(root.get("errors"), f"{rwhere}.errors"), f"{rwhere}.errors", settings.media_type)
    auth_block = dict(_mapping(root.get("auth"), f"{rwhere}.auth"))
    # When credentials are checked is the pipeline's, not the scheme's: every scheme may say it.
    validate_first = _flag(auth_block, "validate-first", f"{rwhere}.auth")
    auth_block.pop("validate-first", None)
    auth_factory = AUTH_SCHEMES.get(auth_block.get("scheme"), f"{rwhere}.auth.scheme")
    auth = auth_factory(auth_block, f"{rwhere}.auth")

    collections = {
        cname: _load_collection(
            cname,
            _mapping(cblock, f"{rwhere}.collections.{cname}"),
            str(name),
            resolver,
            f"{rwhere}.collections.{cname}",
        )
        for cname, cblock in _mapping(root.get("collections"), f"{rwhere}.collections").items()
    }
    payment_colls = [c for c in collections.values() if c.entity == "payment"]
    if len(payment_colls) != 1:
        raise SpecError(f"{rwhere}.collections", "declare exactly one collection of entity 'payment'")
    world_block = _mapping(root.get("world", {}), f"{rwhere}.world")
    world = WorldConfig.load(str(name), world_block, payment_colls[0].statuses, f"{rwhere}.world")

    global_security = document.get("security")
    operations = []
    for opath, item in _mapping(document.get("paths"), f"{where0}: paths").items():
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            owhere = f"{where0}: paths.{opath}.{method}"
            block = _mapping(op.get("x-paymock"), f"{owhere}.x-paymock")
            resolved_params = [resolver.resolve(p) for p in [*shared, *op.get("parameters", [])]]
            body = None
            if "requestBody" in op:
                body = compile_body(resolver.resolve(op["requestBody"]), f"{owhere}.requestBody")
            security = op.get("security", global_security)
            ctx = OperationContext(
                api=str(name),
                method=method.upper(),
                path=opath,
                where=f"{owhere}.x-paymock",
                collections=collections,
                params={p["name"]: p for p in resolved_params},
                media_type=settings.media_type,
                auth=auth,
            )
            compile_action = ACTIONS.get(block.get("action"), f"{owhere}.x-paymock.action")
            action = compile_action(block, ctx)
            params = tuple(
                compile_param(
                    p,
                    f"{owhere}.parameters.{p['name']}",
                    action.roles,
                    _filter_for(p, action, collections, f"{owhere}.parameters.{p['name']}"),
                )
                for p in resolved_params
            )
            selector_names = {(s.location, s.name) for s in selectors}
            for p in params:
                if p.role is None and (p.location, p.name) not in selector_names:
                    raise SpecError(
                        f"{owhere}.parameters.{p.name}",
                        "has no role: give it x-paymock {filter: <column>} or {ignore: <why>}, "
                        "or name it in the operation's pagination/sort/key/scope",
                    )
            operations.append(
                OperationSpec(
                    api=str(name),
                    method=method.upper(),
                    path=opath,
                    rule=_flask_rule(opath),
                    operation_id=str(op.get("operationId", f"{method}{opath}")),
                    params=params,
                    body=body,
                    action=action,
                    secured=bool(security) and not action.public,
                    query=query_rules.reader(p.name for p in params if p.location == "query"),
                )
            )
    tenants = tenancy.get("count", 2)
    if not isinstance(tenants, int) or tenants < 1:
        raise SpecError(f"{rwhere}.tenancy.count", f"must be a positive integer, got {tenants!r}")
    return ApiSpec(
        name=str(name),
        file=file,
        document=document,
        title=str(document.get("info", {}).get("title", name)),
        tenants=tenants,
        selectors=tuple(selectors),
        auth=auth,
        errors=errors,
        responses=settings,
        collections=collections,
        operations=tuple(operations),
        world=world,
        payments_collection=payment_colls[0].name,
        validate_first=validate_first,
    )


def _filter_for(
    param: Mapping[str, Any], action: Action, collections: Mapping[str, CollectionSpec], where: str
) -> Filter | None:
    block = param.get("x-paymock")
    if block is None:
        return None
    block = _mapping(block, f"{where}.x-paymock")
    reject_unknown_keys(block, {"filter", "op", "null-literal", "ignore"}, f"{where}.x-paymock")
    if "ignore" in block:
        if not isinstance(block["ignore"], str) or not block["ignore"].strip():
            raise SpecError(f"{where}.x-paymock.ignore", "must say why the parameter has no effect")
        return None
    collection = getattr(action, "collection", None)
    if collection is None:
        raise SpecError(f"{where}.x-paymock.filter", "filters belong to operations that list a collection")
    column = collection.column(str(block.get("filter")), f"{where}.x-paymock.filter")
    return Filter(
        param=str(param["name"]),
        column=column.key,
        ctype=column.ctype,
        op=FILTER_OPERATORS.get(block.get("op", "eq"), f"{where}.x-paymock.op"),
        null_literal=block.get("null-literal"),
        op_name=str(block.get("op", "eq")),
    )


def load_apis(names: list[str] | None = None, directory: Path | None = None) -> list[ApiSpec]:
    """Load the named bundled APIs (all of them when ``names`` is empty)."""
    directory = directory or openapi_dir()
    known = sorted(p.stem for p in directory.glob("*.yaml"))
    names = names or known
    for n in names:
        if n not in known:
            raise SpecError(str(directory), f"unknown API {n!r}; available: {', '.join(known)}")
    return [load_api(directory / f"{n}.yaml") for n in names]
