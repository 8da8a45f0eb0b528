"""Semantic promises: what a schema cannot express, derived from the document's ``x-paymock``.

Importing this package registers every promise in :data:`contracts.registry.CHECKS`, in the
order a run checks them (the ones that change state last).
"""

from __future__ import annotations

from contracts.promises import access, filters, items, pages, records, transitions

#: The order a run checks the promises in: reads first, then the ones that change state.
RUN_ORDER = (
    "pagination_covers_exactly_once",
    "page_size_within_limit",
    "counts_agree",
    "last_page_has_no_next",
    "limits_and_defaults",
    "filters_hold",
    "sort_order",
    "list_detail_agree",
    "nested_agrees_with_top_level",
    "ids_unique",
    "items_belong_to_tenant",
    "auth_required",
    "tenant_isolation",
    "echoed_headers",
    "state_changes_visible",
    "forbidden_transition_refused",
)

__all__ = ["RUN_ORDER", "access", "filters", "items", "pages", "records", "transitions"]
