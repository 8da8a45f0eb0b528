"""paymock's contract kit: prove that an implementation keeps an API's documented contract.

``check_api("zuora", "http://127.0.0.1:8080/zuora")`` runs schemathesis' schema-level checks and
the semantic promises declared through ``x-paymock`` against any base URL, and returns a
:class:`Report` that names every promise broken. ``paymock check`` and the pytest plugin are
thin layers over it.
"""

from __future__ import annotations

from contracts.errors import ContractError, TargetError, UsageError
from contracts.registry import CHECKS, Check
from contracts.report import Failure, Outcome, Report, write_junit, write_report
from contracts.suite import CheckOptions, check_api, check_names

__all__ = [
    "CHECKS",
    "Check",
    "CheckOptions",
    "ContractError",
    "Failure",
    "Outcome",
    "Report",
    "TargetError",
    "UsageError",
    "check_api",
    "check_names",
    "write_junit",
    "write_report",
]
