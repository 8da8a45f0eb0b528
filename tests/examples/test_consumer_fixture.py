"""The README's consumer example runs: a pytest file using the ``paymock_server`` fixture, with the
official zuora-sdk getting a 429 with Retry-After and then success.

It runs in a pytest of its own (pytester, in this process: importing zuora-sdk afresh costs
15 s of CPU), with only the installed plugins, as a consumer has them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"<!-- runnable-pytest -->\n```python\n(.*?)```", re.DOTALL)


def test_the_readme_consumer_example_passes(pytester: pytest.Pytester) -> None:
    (example,) = BLOCK.findall(README.read_text())
    assert "paymock_server" in example and "429" in example
    pytester.makepyfile(test_example=example)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=1)
