"""paymock's stateful mock: OpenAPI documents with ``x-paymock`` blocks, served from a real store.

The names below are imported on first use: ``paymock seed`` and ``paymock check`` never load
the web stack that serving needs (a third of a second of every start, ``python -X importtime``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mock_server.app import create_app
    from mock_server.errors import ApiError, MockServerError, SpecError, StoreError
    from mock_server.handling import ApiRuntime, runtimes
    from mock_server.sandbox import Sandbox
    from mock_server.spec import ApiSpec, available_apis, load_api, load_apis
    from mock_server.store import BaseStore, Store, open_store

_HOMES = {
    "create_app": "app",
    "ApiError": "errors",
    "MockServerError": "errors",
    "SpecError": "errors",
    "StoreError": "errors",
    "ApiRuntime": "handling",
    "runtimes": "handling",
    "ApiSpec": "spec",
    "available_apis": "spec",
    "load_api": "spec",
    "load_apis": "spec",
    "Sandbox": "sandbox",
    "BaseStore": "store",
    "Store": "store",
    "open_store": "store",
}

__all__ = [
    "ApiError",
    "ApiRuntime",
    "ApiSpec",
    "BaseStore",
    "MockServerError",
    "Sandbox",
    "SpecError",
    "Store",
    "StoreError",
    "available_apis",
    "create_app",
    "load_api",
    "load_apis",
    "open_store",
    "runtimes",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mock_server' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mock_server.{home}"), name)
