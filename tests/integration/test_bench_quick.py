"""`triggers bench --quick` (what `make bench QUICK=1` runs): every scenario produces its numbers.

No timing is asserted: the machine is shared. The suite runs in its own process because it
starts its own embedded stack and configures the process environment for its handlers.
"""

import json
import subprocess
import sys
from pathlib import Path

from devtools.template import REPO_ROOT

SCENARIOS = {
    "1. ingest",
    "2. fan-out",
    "3. indexer",
    "4. end to end",
    "5. cold start",
    "6. footprint",
    "7. sustained delivery",
}


def test_quick_bench_produces_every_scenarios_figures_with_baselines(tmp_path: Path) -> None:
    # Given / When
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.cli",
            "bench",
            "--quick",
            "--results",
            str(tmp_path / "results.json"),
            "--markdown",
            str(tmp_path / "benchmarks.md"),
            "--log",
            str(tmp_path / "bench.log"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    # Then
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["errors"] == {}
    figures = results["figures"]
    assert {figure["scenario"] for figure in figures} == SCENARIOS
    for figure in figures:
        assert figure["complete"], figure["name"]
        assert figure["measured"] is not None and figure["baseline"] is not None, figure["name"]
        assert figure["ratio"] is not None, figure["name"]
    assert "| 1. ingest |" in (tmp_path / "benchmarks.md").read_text()
