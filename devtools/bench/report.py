"""The results of a run: a console table, docs/benchmarks.md and a machine-readable JSON file."""

import json
import math
import os
import platform
import re
import subprocess
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from devtools.bench.core import Figure, Settings
from devtools.bench.regressions import Comparison
from devtools.template import REPO_ROOT

NOTES_PATH = Path(__file__).with_name("notes.md")


@dataclass
class Results:
    settings: Settings
    figures: list[Figure]
    errors: dict[str, str]
    started_at: datetime
    seconds: float
    machine: dict[str, Any]
    scenario_seconds: dict[str, float]
    # Against a reference run (main's bench/results.json): regressions.Comparison.to_json().
    comparison: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Results":
        """Results saved by `to_json` (to render the report again without re-running)."""
        names = {item.name for item in fields(Figure)}
        figures = [
            Figure(
                **{
                    **{key: value for key, value in figure.items() if key in names},
                    "measured": _or_nan(figure["measured"]),
                    "baseline": _or_nan(figure["baseline"]),
                }
            )
            for figure in data["figures"]
        ]
        settings = Settings(**{**data["settings"], "concurrency": tuple(data["settings"]["concurrency"])})
        return cls(
            settings=settings,
            figures=figures,
            errors=data["errors"],
            started_at=datetime.fromisoformat(data["generated_at"]),
            seconds=data["duration_seconds"],
            machine=data["machine"],
            scenario_seconds=data.get("scenario_seconds", {}),
            comparison=data.get("comparison"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "generated_at": self.started_at.isoformat(timespec="seconds"),
            "mode": "quick" if self.settings.quick else "full",
            "duration_seconds": round(self.seconds, 1),
            "machine": self.machine,
            "settings": self.settings.__dict__,
            "errors": self.errors,
            "scenario_seconds": {name: round(value, 1) for name, value in self.scenario_seconds.items()},
            "figures": [figure.to_json() for figure in self.figures],
            **({"comparison": self.comparison} if self.comparison is not None else {}),
        }


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def machine_facts() -> dict[str, Any]:
    cpu = ""
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = match.group(1) if match else ""
    except OSError:
        pass
    memory_mb = 0
    try:
        match = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
        memory_mb = int(match.group(1)) // 1024 if match else 0
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_mb": memory_mb,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "python": platform.python_version(),
        "commit": _commit(),
    }


def _commit() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False, timeout=5
        )
    except OSError:
        return ""
    return result.stdout.strip()


def _number(value: float, unit: str = "") -> str:
    if not math.isfinite(value):
        return "-"
    if unit == "ratio":
        return f"{value * 100:.2f} %"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _ratio(figure: Figure) -> str:
    return f"{figure.ratio:.2f}x" if math.isfinite(figure.ratio) else "-"


def _verdict(figure: Figure) -> str:
    verdict = {True: "met", False: "MISSED", None: ""}[figure.met]
    if figure.target_on == "difference" and math.isfinite(figure.difference):
        verdict += f" ({figure.difference:+.0f} {figure.unit})"
    return verdict


def _latency(figure: Figure) -> str:
    measured = figure.details.get("measured")
    if not isinstance(measured, dict) or "p50_ms" not in measured:
        return ""
    values = [measured.get(key) for key in ("p50_ms", "p95_ms", "p99_ms")]
    if not all(isinstance(value, int | float) and math.isfinite(value) for value in values):
        return ""
    return " / ".join(f"{value:.0f}" for value in values)


def print_table(results: Results, console: Console) -> None:
    table = Table(title=f"Triggers benchmarks ({'quick' if results.settings.quick else 'full'} mode)")
    for column in (
        "scenario",
        "figure",
        "measured",
        "baseline",
        "unit",
        "ratio",
        "target",
        "",
        "p50/p95/p99 ms",
    ):
        table.add_column(column)
    for figure in results.figures:
        table.add_row(
            figure.scenario,
            figure.name,
            _number(figure.measured, figure.unit),
            _number(figure.baseline, figure.unit),
            figure.unit,
            _ratio(figure),
            figure.target_text,
            _verdict(figure),
            _latency(figure),
        )
    console.print(table)
    for scenario, error in results.errors.items():
        console.print(f"[red]{scenario} failed:[/red] {error}")
    if results.comparison is not None:
        comparison = Comparison.from_json(results.comparison)
        for index, line in enumerate(comparison.lines()):
            flagged = bool(comparison.regressions) and (index == 1 or line.startswith("- "))
            console.print(line, style="bold red" if flagged else None, markup=False, highlight=False)


def markdown(results: Results, reproduce: str, json_name: str) -> str:
    machine = results.machine
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{reproduce}` on {results.started_at:%Y-%m-%d %H:%M} UTC in "
        f"{results.seconds / 60:.1f} min ({'quick' if results.settings.quick else 'full'} mode, "
        f"commit {machine.get('commit') or '?'}). Every figure, with its details, is also in `{json_name}`.",
        "",
        "Machine: "
        f"{machine.get('cpu') or machine.get('machine')}, {machine.get('cores')} cores, "
        f"{machine.get('memory_mb', 0) / 1024:.0f} GB RAM, {machine.get('os')}, "
        f"Python {machine.get('python')}; load average "
        f"{', '.join(str(value) for value in machine.get('load_average_at_start', []))} at the "
        "start (a shared machine: other engineers' test suites ran at the same time).",
        "",
        "| scenario | figure | measured | baseline (same run) | unit | ratio | target | "
        "| p50 / p95 / p99 ms |",
        "| --- | --- | ---: | --- | --- | ---: | --- | --- | --- |",
    ]
    for figure in results.figures:
        lines.append(
            f"| {figure.scenario} | {figure.name} | {_number(figure.measured, figure.unit)} | "
            f"{_number(figure.baseline, figure.unit)} ({figure.baseline_name}) | {figure.unit} | "
            f"{_ratio(figure)} | {figure.target_text} | {_verdict(figure)} | {_latency(figure)} |"
        )
    for scenario, error in results.errors.items():
        lines.append(f"| {scenario} | failed: {error} | | | | | | | |")
    if results.comparison is not None:
        lines += [
            "",
            "## Against the reference run",
            "",
            *_paragraphs(Comparison.from_json(results.comparison)),
        ]
    lines += ["", NOTES_PATH.read_text().strip(), ""]
    return "\n".join(lines)


def _paragraphs(comparison: Comparison) -> list[str]:
    """The comparison's lines as markdown: list items together, other lines as paragraphs."""
    lines: list[str] = []
    for line in comparison.lines():
        if lines and not (line.startswith("- ") and lines[-1].startswith("- ")):
            lines.append("")
        lines.append(line)
    return lines


def write(
    results: Results,
    markdown_path: Path | None,
    json_path: Path | None,
    reproduce: str,
    json_name: str | None = None,
) -> None:
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results.to_json(), indent=2, ensure_ascii=False) + "\n")
    if markdown_path is not None:
        markdown_path.parent.mkdir(parents=True, exist_ok=True)
        name = json_name or (_shown(json_path) if json_path is not None else "-")
        markdown_path.write_text(markdown(results, reproduce, name))


def _shown(path: Path) -> str:
    """`path` relative to the repository when it is inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)


def started_now() -> datetime:
    return datetime.now(UTC)
