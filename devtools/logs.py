"""Read the functions' CloudWatch Logs as `triggers tail` shows them: several groups merged in time order.

Works the same against the embedded stack (the ESM runner ships Lambda-style lines to the moto
server), LocalStack and AWS, because it only calls `FilterLogEvents`.
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from devtools.template import Template

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Lines can reach CloudWatch Logs a little after lines with later timestamps (the shipper batches,
# Lambda buffers): each poll looks back this far and drops what it has already shown.
LATE_ARRIVAL_MS = 10_000
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 60}


def parse_since(text: str) -> float:
    """`30s`, `10m`, `2h`, `1d` or a bare number of minutes, in seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 10m, 2h, 1d)")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def function_log_groups(template: Template, names: Iterable[str] = ()) -> dict[str, str]:
    """Log group -> short function name, for the named functions or every function of the template.

    A name is a short name (`fanout`), a logical id (`FanoutFunction`) or a full function name;
    anything else is taken as a function name outside the template.
    """
    prefix = f"triggers-{template.stage}-"
    functions = {
        template.physical_name(logical_id): logical_id
        for logical_id in template.of_type("AWS::Serverless::Function")
    }
    wanted = list(names) or list(functions)
    groups: dict[str, str] = {}
    for name in wanted:
        physical = next(
            (
                physical
                for physical, logical_id in functions.items()
                if name in (physical, logical_id, physical.removeprefix(prefix))
            ),
            name,
        )
        groups[f"/aws/lambda/{physical}"] = physical.removeprefix(prefix)
    return groups


@dataclass(frozen=True)
class LogLine:
    function: str
    group: str
    stream: str
    timestamp_ms: int
    message: str

    @property
    def fields(self) -> dict[str, Any] | None:
        """The Powertools JSON of a handler line; None for runtime lines (START/END/REPORT)."""
        text = self.message.strip()
        if not text.startswith("{"):
            return None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    @property
    def level(self) -> str | None:
        fields = self.fields
        if fields is not None:
            return str(fields.get("level", "")).upper() or None
        if self.message.startswith("[ERROR]") or self.message.startswith("Task timed out"):
            return "ERROR"
        return None


@dataclass(frozen=True)
class LineFilter:
    """Every term must occur in the line (ids are unique enough to match as text); level at least `level`."""

    terms: tuple[str, ...] = ()
    level: str | None = None

    @property
    def pattern(self) -> str | None:
        """A FilterLogEvents pattern doing the first cut on the server (one quoted term)."""
        if not self.terms or '"' in self.terms[0]:
            return None
        return f'"{self.terms[0]}"'

    def matches(self, line: LogLine) -> bool:
        if not all(term in line.message for term in self.terms):
            return False
        if self.level is None:
            return True
        level = line.level
        return level in LEVELS and LEVELS.index(level) >= LEVELS.index(self.level)


@dataclass
class LogReader:
    """New lines of several log groups since `start_ms`, merged by timestamp; call `poll` repeatedly."""

    logs: Any
    groups: dict[str, str]
    start_ms: int
    line_filter: LineFilter = field(default_factory=LineFilter)
    missing: set[str] = field(default_factory=set)
    _seen: dict[tuple[str, str], int] = field(default_factory=dict)
    _newest_ms: int = 0

    def poll(self) -> list[LogLine]:
        since = max(self.start_ms, self._newest_ms - LATE_ARRIVAL_MS)
        lines: list[LogLine] = []
        self.missing.clear()
        for group, function in self.groups.items():
            for event in self._events(group, since):
                key = (group, event["eventId"])
                if key in self._seen:
                    continue
                self._seen[key] = event["timestamp"]
                line = LogLine(
                    function, group, event.get("logStreamName", ""), event["timestamp"], event["message"]
                )
                if self.line_filter.matches(line):
                    lines.append(line)
        if self._seen:
            self._newest_ms = max(self._seen.values())
            floor = self._newest_ms - 2 * LATE_ARRIVAL_MS
            self._seen = {key: stamp for key, stamp in self._seen.items() if stamp >= floor}
        return sorted(lines, key=lambda line: line.timestamp_ms)

    def _events(self, group: str, since: int) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"logGroupName": group, "startTime": since}
        if self.line_filter.pattern:
            kwargs["filterPattern"] = self.line_filter.pattern
        try:
            return [
                event
                for page in self.logs.get_paginator("filter_log_events").paginate(**kwargs)
                for event in page.get("events", [])
            ]
        except self.logs.exceptions.ResourceNotFoundException:
            self.missing.add(group)
            return []
