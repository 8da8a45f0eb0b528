"""paymock's stateful mock: OpenAPI documents with ``x-paymock`` blocks, served from a real store."""

from mock_server.app import create_app
from mock_server.errors import ApiError, MockServerError, SpecError, StoreError
from mock_server.handling import ApiRuntime, runtimes
from mock_server.spec import ApiSpec, available_apis, load_api, load_apis
from mock_server.store import Store

__all__ = [
    "ApiError",
    "ApiRuntime",
    "ApiSpec",
    "MockServerError",
    "SpecError",
    "Store",
    "StoreError",
    "available_apis",
    "create_app",
    "load_api",
    "load_apis",
    "runtimes",
]
