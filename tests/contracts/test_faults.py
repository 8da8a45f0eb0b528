"""Every promise is caught breaking: a fault-injecting wrapper in front of the mock breaks one
promise at a time, and the kit must fail and name it, with a request that reproduces it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from harness import FAULTS, BadInputAnswered200, Fault, zutax_invoice

from contracts import CHECKS, Report, check_names
from contracts.testing import MockServer

SEED = 7
#: Small on purpose: a fault must be caught by explicit examples and a few draws, not by luck.
MAX_EXAMPLES = 10


def _run(mock: MockServer, check: Callable[..., Report], fault: type[Fault], **options: object) -> Report:
    params = [f"invoice_id={zutax_invoice(mock)}"] if fault.api == "zutax" else []
    with mock.wrapped(fault):
        options.setdefault("max_examples", MAX_EXAMPLES)
        return check(fault.api, seed=SEED, params=params, **options)


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.__name__)
def test_the_kit_names_the_promise_a_fault_breaks(
    paymock_mock: MockServer, paymock_check: Callable[..., Report], fault: type[Fault]
) -> None:
    report = _run(paymock_mock, paymock_check, fault)

    assert not report.ok
    failed = {o.check for o in report.outcomes if o.status == "failed"}
    for name in fault.breaks:
        assert name in failed, f"{fault.__name__} should break {name}\n{report.render()}"
    first = next(f for f in report.failures if f.check == fault.breaks[0])
    assert first.operation.split()[0] in ("GET", "POST")
    assert first.expected and first.got and first.message
    assert first.curl is not None and first.curl.startswith("curl ") and f"/{fault.api}/" in first.curl
    assert not [o for o in report.outcomes if o.status == "error"], report.render()


def test_every_check_has_a_fault_that_breaks_it() -> None:
    broken = {name for fault in FAULTS for name in fault.breaks}

    assert set(check_names()) == broken
    assert set(CHECKS.names()) == broken


def test_a_seed_repeats_a_failing_run_exactly(paymock_mock: MockServer, paymock_check: Callable[..., Report]) -> None:
    runs = [
        _run(paymock_mock, paymock_check, BadInputAnswered200, checks=["negative_data_rejection"]) for _ in range(2)
    ]

    # Tokens are minted per run; everything else about the failing requests repeats.
    def requests(report: Report) -> list[str]:
        return [re.sub(r"Bearer [0-9a-f]+", "Bearer <token>", f.curl or "") for f in report.failures]

    assert requests(runs[0]) == requests(runs[1])
    assert runs[0].failures and runs[0].seed == runs[1].seed == SEED
