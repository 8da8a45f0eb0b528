"""Load an OpenAPI document and its ``x-paymock`` block into a frozen model, once.

Everything that can be checked or compiled ahead of a request is done here: the document is
validated with openapi-spec-validator, ``$ref``s are resolved, parameter validators, filters,
sorters, paginators, envelopes, record renderers and the error format are compiled. A mistake
in a document is a :class:`SpecError` naming the file and the dotted path, never a failure
while serving.

The modules, by noun: :mod:`.model` (the frozen document model), :mod:`.document` (reading a
document: the bundled directory, YAML, ``$ref``s), :mod:`.collection` (compiling a collection:
columns, statuses, renderers, lifecycle) and :mod:`.loader` (:func:`load_api`: the root block
and the operations). Import from here: the names below are the package's public ones.
"""

from __future__ import annotations

from mock_server.spec.collection import RESERVED_COLUMNS
from mock_server.spec.document import Resolver, available_apis, openapi_dir
from mock_server.spec.loader import HTTP_METHODS, ROOT_KEYS, load_api, load_apis
from mock_server.spec.model import (
    ApiSpec,
    CollectionSpec,
    Column,
    OperationSpec,
    ResponseSettings,
    Selector,
)

__all__ = [
    "HTTP_METHODS",
    "RESERVED_COLUMNS",
    "ROOT_KEYS",
    "ApiSpec",
    "CollectionSpec",
    "Column",
    "OperationSpec",
    "Resolver",
    "ResponseSettings",
    "Selector",
    "available_apis",
    "load_api",
    "load_apis",
    "openapi_dir",
]
