"""Semantic promises: what a schema cannot express, derived from the document's ``x-paymock``.

Importing this package registers every promise in :data:`contracts.registry.CHECKS`, in the
order a run checks them (the ones that change state last).
"""

from __future__ import annotations

from contracts.promises import access, filters, pages, records, transitions

__all__ = ["access", "filters", "pages", "records", "transitions"]
