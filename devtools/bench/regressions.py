"""Regression detection: each figure's ratio against the same figure of a reference run.

The reference is main's committed `bench/results.json` by default (any git revision, or a file).
A figure is the same when its scenario and name are; its `ratio` is already oriented so that
higher is better for us (core.Figure), so a regression is a ratio that fell, by more than
`FALL_LIMIT` of the reference's. Runs of different modes (quick against full) are not compared:
their rounds, clients and durations differ, and so do most figure names.
"""

import json
import math
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devtools.template import REPO_ROOT

FALL_LIMIT = 0.20
DEFAULT_REFERENCE = "main"
RESULTS_PATH = "bench/results.json"


@dataclass(frozen=True)
class Change:
    scenario: str
    name: str
    reference: float
    current: float

    @property
    def fall(self) -> float:
        """How much of the reference ratio was lost (0.25: a quarter); negative when it rose."""
        return (self.reference - self.current) / self.reference


@dataclass
class Comparison:
    reference: str  # what was compared with, for people: "main:bench/results.json (commit ..., date)"
    limit: float = FALL_LIMIT
    compared: int = 0
    regressions: list[Change] = field(default_factory=list)
    new: list[str] = field(default_factory=list)  # figures the reference does not have
    missing: list[str] = field(default_factory=list)  # reference figures of scenarios that ran, now absent
    not_comparable: list[str] = field(default_factory=list)  # a ratio absent or not positive on a side
    skipped: str | None = None  # why nothing was compared

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["regressions"] = [
            {**asdict(change), "fall": round(change.fall, 4)} for change in self.regressions
        ]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Comparison":
        changes = [
            Change(item["scenario"], item["name"], item["reference"], item["current"])
            for item in data.get("regressions", [])
        ]
        return cls(**{**data, "regressions": changes})

    def lines(self) -> list[str]:
        """What a person reads after the table (console and docs/benchmarks.md alike)."""
        if self.skipped:
            return [f"Not compared with {self.reference}: {self.skipped}."]
        head = (
            f"Compared with {self.reference}: {self.compared} figures; a ratio that fell by more than "
            f"{self.limit * 100:.0f} % is flagged."
        )
        lines = [head]
        if self.regressions:
            lines.append(f"{len(self.regressions)} fell by more than {self.limit * 100:.0f} %:")
            lines += [
                f"- {change.scenario} | {change.name}: {change.reference:.2f}x -> {change.current:.2f}x "
                f"(-{change.fall * 100:.0f} %)"
                for change in self.regressions
            ]
        else:
            lines.append(f"No ratio fell by more than {self.limit * 100:.0f} %.")
        for title, names in (
            ("New (no reference)", self.new),
            ("Missing now (in the reference, scenario ran)", self.missing),
            ("Without a ratio on one side", self.not_comparable),
        ):
            if names:
                lines.append(f"{title}: " + "; ".join(names))
        return lines


def _key(figure: dict[str, Any]) -> tuple[str, str]:
    return str(figure["scenario"]), str(figure["name"])


def _label(key: tuple[str, str]) -> str:
    return f"{key[0]} | {key[1]}"


def _ratio(figure: dict[str, Any]) -> float | None:
    value = figure.get("ratio")
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    return float(value)


def compare(
    reference: dict[str, Any], current: dict[str, Any], name: str, limit: float = FALL_LIMIT
) -> Comparison:
    """Compare two runs as saved by `Results.to_json` (`name` says what the reference is)."""
    comparison = Comparison(reference=name, limit=limit)
    if reference.get("mode") != current.get("mode"):
        comparison.skipped = (
            f"it is a {reference.get('mode')} run and this one {current.get('mode')}; "
            "only runs of one mode compare"
        )
        return comparison
    before = {_key(figure): figure for figure in reference.get("figures", [])}
    now = {_key(figure): figure for figure in current.get("figures", [])}
    ran = {key[0] for key in now} | set(current.get("errors", {}))
    comparison.new = [_label(key) for key in now if key not in before]
    comparison.missing = [_label(key) for key in before if key not in now and key[0] in ran]
    for key, figure in now.items():
        if key not in before:
            continue
        old, new = _ratio(before[key]), _ratio(figure)
        if old is None or new is None:
            comparison.not_comparable.append(_label(key))
            continue
        comparison.compared += 1
        change = Change(key[0], key[1], old, new)
        if change.fall > limit:
            comparison.regressions.append(change)
    return comparison


def load_reference(reference: str) -> tuple[dict[str, Any], str] | str:
    """The reference run and its description, or why there is none.

    `reference` is a file, or a git revision whose `bench/results.json` is read (not the working
    copy, which the run is about to overwrite).
    """
    path = Path(reference)
    if path.is_file():
        text, where = path.read_text(), str(path)
    else:
        try:
            result = subprocess.run(
                ["git", "show", f"{reference}:{RESULTS_PATH}"],
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                check=False,
                timeout=30,
            )
        except OSError as exc:
            return f"git is not available ({exc})"
        if result.returncode != 0:
            return f"no {RESULTS_PATH} at {reference} ({result.stderr.strip() or 'git show failed'})"
        text, where = result.stdout, f"{reference}:{RESULTS_PATH}"
    try:
        data = json.loads(text)
    except ValueError as exc:
        return f"{where} is not JSON ({exc})"
    if not isinstance(data, dict) or not isinstance(data.get("figures"), list):
        return f"{where} has no figures"
    commit = data.get("machine", {}).get("commit") or "?"
    generated = str(data.get("generated_at", "?"))[:16].replace("T", " ")
    return data, f"{where} (commit {commit}, {generated} UTC)"
