"""Exceptions of the contract kit: one root, and the two ways a run cannot start.

A check that finds the implementation breaking a promise is not an exception: it is a
:class:`~contracts.report.Failure` in the report. These errors mean nothing could be checked.
"""

from __future__ import annotations


class ContractError(Exception):
    """Root of every error raised by :mod:`contracts`."""


class UsageError(ContractError):
    """The kit was called wrongly: an unknown API or check name, a malformed option.

    The message names the offending value and what is allowed. The command exits with 2.
    """


class TargetError(ContractError):
    """The implementation under test cannot be used: unreachable, or credentials refused.

    The message says which request failed and how to fix it. The command exits with 2.
    """
