"""The README's runnable examples work, against a live server with the default seed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import requests
from live import LiveServer

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"<!-- runnable -->\n```bash\n(.*?)```", re.DOTALL)
EXAMPLES = BLOCK.findall(README.read_text())


def test_readme_has_runnable_examples_for_every_api() -> None:
    text = "\n".join(EXAMPLES)
    for api in ("flexportal", "exsited", "notify", "zuora", "zutax"):
        assert f"127.0.0.1:8080/{api}/" in text


@pytest.mark.parametrize("script", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_readme_example_runs(script: str, server: LiveServer) -> None:
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script.replace("http://127.0.0.1:8080", server.url)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    requests.post(f"{server.url}/__paymock/reset", timeout=30)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert '"' in out  # every example prints a JSON body
    if "mark-paid" in script:
        assert '"status":"paid"' in out and out.rstrip().endswith("409")
    if "limit=500" in script:
        assert "limit" in out and "500" in out and "250" in out
    if "before-demo" in script:  # the demo follows a failed payment until it is collected, then goes back
        days = [line.split()[2] for line in out.splitlines() if line.startswith("day ")]
        assert days[0] == "failed" and "processing" in days and days[-1] == "paid"
        assert '"restored"' in out and '"deleted":1' in out
    if "Limit=2" in script:
        # The misspelt parameter is named, and the page is the one `limit=1` asks for.
        assert "Paymock-Ignored-Parameters: Limit\n" in out and '"count":1' in out
    if "Zuora-Track-Id" in script:
        assert "Zuora-Track-Id: demo-1" in out and "Content-Encoding: gzip" in out
