"""Progress while a run goes: one rewritten status line on a terminal, plain lines in CI."""

from __future__ import annotations

import shutil
import sys
from typing import Protocol, TextIO

from contracts.report import Outcome


class Progress(Protocol):
    """Receives the run's steps; implementations decide how (and whether) to show them."""

    def start(self, check: str, operation: str) -> None:
        """A check begins on an operation."""

    def finish(self, outcome: Outcome) -> None:
        """A check ended on an operation."""

    def close(self) -> None:
        """The run ended."""


class Silent:
    """Shows nothing (the Python API and pytest)."""

    def start(self, check: str, operation: str) -> None:
        """Ignore."""

    def finish(self, outcome: Outcome) -> None:
        """Ignore."""

    def close(self) -> None:
        """Ignore."""


class Lines:
    """One line per finished check, for logs and CI.

    Args:
        api: The API being checked, printed on every line.
        stream: Where to write.
    """

    def __init__(self, api: str, stream: TextIO) -> None:
        self.api = api
        self.stream = stream

    def start(self, check: str, operation: str) -> None:
        """Nothing until the check ends."""

    def finish(self, outcome: Outcome) -> None:
        """``zuora  passed   sort_order  GET /v1/payments  (0.4s)``."""
        note = f"  {outcome.reason}" if outcome.status == "skipped" else ""
        line = f"{self.api}  {outcome.status:<7}  {outcome.check:<32} {outcome.operation}"
        self.stream.write(f"{line}  ({outcome.seconds:.1f}s){note}\n")
        self.stream.flush()

    def close(self) -> None:
        """Nothing left to show."""


class StatusLine:
    """A single line rewritten in place, with failures printed as they happen.

    Args:
        api: The API being checked.
        stream: A terminal.
    """

    def __init__(self, api: str, stream: TextIO) -> None:
        self.api = api
        self.stream = stream
        self.done = 0
        self.failed = 0

    def _show(self, text: str) -> None:
        width = max(20, shutil.get_terminal_size((100, 20)).columns - 1)
        self.stream.write("\r\x1b[2K" + text[:width])
        self.stream.flush()

    def start(self, check: str, operation: str) -> None:
        """Show what runs now."""
        self._show(f"{self.api}: {self.done} done, {self.failed} failed | {check} {operation} ...")

    def finish(self, outcome: Outcome) -> None:
        """Count the result; a failure gets a line of its own."""
        self.done += 1
        if outcome.status == "failed":
            self.failed += 1
            self._show("")
            self.stream.write(f"FAILED {outcome.check} {outcome.operation}\n")
        self._show(f"{self.api}: {self.done} done, {self.failed} failed")

    def close(self) -> None:
        """Clear the line."""
        self._show("")


def for_stream(api: str, stream: TextIO | None = None) -> Progress:
    """A status line when ``stream`` is a terminal, plain lines otherwise."""
    stream = stream or sys.stdout
    return StatusLine(api, stream) if stream.isatty() else Lines(api, stream)
