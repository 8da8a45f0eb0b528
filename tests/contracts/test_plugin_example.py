"""The README's pytest example, as it is printed there: the same checks from a user's own suite."""

import pytest


@pytest.mark.parametrize("api", ["zuora", "exsited", "flexportal", "notify", "zutax"])
def test_keeps_the_contract(paymock_check, api):
    report = paymock_check(api, max_examples=10, seed=1)
    report.assert_ok()


def test_pagination_alone(paymock_check):
    paymock_check("exsited", checks=["pagination_covers_exactly_once", "counts_agree"], seed=1).assert_ok()
