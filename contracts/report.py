"""Results of a run: failures that explain themselves, and the files CI reads.

Every failure names the operation, the promise it breaks, what was expected and what came back,
and a curl line that reproduces it. The same :class:`Report` renders as console text, as a
readable report file, and as JUnit XML (one test case per check and operation).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Status = Literal["passed", "failed", "skipped", "error", "unexercised"]

#: How each status reads in reports.
LABELS = {"unexercised": "not exercised"}

#: Statuses that make a run not ok: a broken promise, a broken kit, a check that saw nothing to judge.
NOT_OK = ("failed", "error", "unexercised")


@dataclass(frozen=True, slots=True)
class Failure:
    """One broken promise.

    Attributes:
        check: The check's name (``pagination_covers_exactly_once``).
        operation: The operation (``GET /v1/payments``).
        message: What is wrong, in one sentence.
        expected: What the document promises.
        got: What the implementation answered.
        curl: A request that reproduces it.
        details: More lines (items missing, the steps that led there).
    """

    check: str
    operation: str
    message: str
    expected: str
    got: str
    curl: str | None = None
    details: tuple[str, ...] = ()

    def render(self) -> str:
        """The failure as text."""
        lines = [
            f"{self.check} FAILED on {self.operation}",
            f"  {self.message}",
            f"  expected: {self.expected}",
            f"  got:      {self.got}",
        ]
        lines += [f"  {d}" for d in self.details]
        if self.curl:
            lines += ["  reproduce:", f"    {self.curl}"]
        return "\n".join(lines)


@dataclass(slots=True)
class Outcome:
    """The result of one check on one operation (or on the whole API, ``operation='*'``).

    Attributes:
        check: The check's name.
        operation: The operation it ran on.
        status: ``passed``, ``failed``, ``skipped``, ``error`` (the kit itself broke), or
            ``unexercised`` (the check needs a successful answer and none came: not a pass).
        failures: What broke (empty unless failed).
        reason: Why it was skipped, or a note on what was covered.
        seconds: Time spent.
    """

    check: str
    operation: str
    status: Status = "passed"
    failures: list[Failure] = field(default_factory=list)
    reason: str = ""
    seconds: float = 0.0


@dataclass(slots=True)
class Report:
    """Everything one run found.

    Attributes:
        api: The API checked.
        url: Its base URL.
        seed: The seed that reproduces the run.
        outcomes: One per check and operation.
        seconds: Wall time of the run.
        requests: Requests sent.
        notes: Run-level remarks (writes skipped, mock reset).
    """

    api: str
    url: str
    seed: int
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    requests: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Failure]:
        """Every failure, in check order."""
        return [f for o in self.outcomes for f in o.failures]

    @property
    def ok(self) -> bool:
        """Whether every check that ran passed (one that was not exercised did not)."""
        return not any(o.status in NOT_OK for o in self.outcomes)

    @property
    def broken(self) -> bool:
        """Whether a check failed or the kit broke (what exit status 1 means)."""
        return any(o.status in ("failed", "error") for o in self.outcomes)

    def failed_checks(self) -> list[str]:
        """Names of the checks that failed, once each, in order."""
        return list(dict.fromkeys(o.check for o in self.outcomes if o.status in ("failed", "error")))

    def unexercised_checks(self) -> list[str]:
        """``check on operation`` for every check that saw no successful answer."""
        return [f"{o.check} on {o.operation}" for o in self.outcomes if o.status == "unexercised"]

    def counts(self) -> Counter[str]:
        """How many outcomes passed, failed, were skipped or broke the kit."""
        return Counter(o.status for o in self.outcomes)

    def summary(self) -> str:
        """One line: ``zuora: 31 passed, 1 failed, 2 skipped in 4.2s (412 requests, seed 7)``."""
        c = self.counts()
        parts = [f"{c[s]} {LABELS.get(s, s)}" for s in ("passed", "failed", "unexercised", "skipped", "error") if c[s]]
        return (
            f"{self.api}: {', '.join(parts) or 'nothing ran'} in {self.seconds:.1f}s "
            f"({self.requests} requests, seed {self.seed})"
        )

    def render(self) -> str:
        """The readable report: failures in full, then every outcome."""
        lines = [f"paymock check {self.api} --url {self.url} --seed {self.seed}", ""]
        if self.failures:
            lines.append("FAILURES")
            for failure in self.failures:
                lines += [failure.render(), ""]
        lines.append("CHECKS")
        for o in self.outcomes:
            note = f"  ({o.reason})" if o.reason else ""
            lines.append(f"  {LABELS.get(o.status, o.status).upper():<7} {o.check:<32} {o.operation}{note}")
        if self.notes:
            lines += ["", "NOTES", *[f"  {n}" for n in self.notes]]
        lines += ["", self.summary()]
        if self.broken:
            lines.append(f"repeat exactly with --seed {self.seed}")
        elif not self.ok:
            lines.append("not exercised: these checks never saw a successful answer (give real IDs with --param)")
        return "\n".join(lines)

    def assert_ok(self) -> None:
        """Raise ``AssertionError`` carrying the readable report when anything failed."""
        if not self.ok:
            raise AssertionError("\n" + self.render())


def write_report(reports: list[Report], path: str | Path) -> None:
    """Write the readable report of one or more runs."""
    Path(path).write_text("\n\n".join(r.render() for r in reports) + "\n", encoding="utf-8")


def junit_tree(reports: list[Report]) -> ET.ElementTree[ET.Element]:
    """JUnit XML: one ``testsuite`` per API, one ``testcase`` per check and operation."""
    root = ET.Element("testsuites", name="paymock check")
    totals: Counter[str] = Counter()
    for report in reports:
        c = report.counts()
        suite = ET.SubElement(
            root,
            "testsuite",
            name=f"paymock.{report.api}",
            tests=str(len(report.outcomes)),
            failures=str(c["failed"]),
            errors=str(c["error"] + c["unexercised"]),
            skipped=str(c["skipped"]),
            time=f"{report.seconds:.3f}",
        )
        props = ET.SubElement(suite, "properties")
        for name, value in (("url", report.url), ("seed", str(report.seed))):
            ET.SubElement(props, "property", name=name, value=value)
        for o in report.outcomes:
            case = ET.SubElement(
                suite, "testcase", classname=f"{report.api}.{o.operation}", name=o.check, time=f"{o.seconds:.3f}"
            )
            if o.status == "failed":
                first = o.failures[0] if o.failures else None
                element = ET.SubElement(case, "failure", message=first.message if first else o.reason, type=o.check)
                element.text = "\n\n".join(f.render() for f in o.failures)
            elif o.status == "error":
                ET.SubElement(case, "error", message=o.reason, type="ContractKitError").text = o.reason
            elif o.status == "unexercised":
                # Not a pass: the check could not be completed, which is what JUnit's <error> means.
                message = f"not exercised: {o.reason}"
                ET.SubElement(case, "error", message=message, type="NotExercised").text = message
            elif o.status == "skipped":
                ET.SubElement(case, "skipped", message=o.reason)
        errors = c["error"] + c["unexercised"]
        totals.update(tests=len(report.outcomes), failures=c["failed"], errors=errors, skipped=c["skipped"])
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", str(totals["errors"]))
    root.set("skipped", str(totals["skipped"]))
    return ET.ElementTree(root)


def write_junit(reports: list[Report], path: str | Path) -> None:
    """Write JUnit XML for one or more runs."""
    tree = junit_tree(reports)
    ET.indent(tree)
    tree.write(str(path), encoding="utf-8", xml_declaration=True)
