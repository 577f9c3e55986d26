"""Scenario 5, cold start: import time of each handler module vs its third-party imports alone,
and the peak RSS of a fresh process handling one 10-record batch vs one importing only those.

The third-party modules are read from the handler's own `-X importtime` tree: those imported
directly by our packages (pydantic internals included: building our models pulls them in).
Then one fresh interpreter imports them first and the handler second, so both numbers come from
the same process: the baseline is the first part, and what the handler's import still costs
after it is our code (with the few stdlib modules only we use). Median of a few processes.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from devtools.bench.context import BenchContext, event_body, stream_event
from devtools.bench.core import Figure
from devtools.runner.apiserver import http_api_event
from devtools.template import REPO_ROOT

SCENARIO = "5. cold start"
OURS = frozenset({"ingest", "processors", "devtools"})
ADDED_TARGET_MS = 50.0
# A fresh process: import the handler, invoke it once with the event in argv[3], print peak RSS.
INVOKE = """
import json, sys, uuid
module, attribute, path = sys.argv[1], sys.argv[2], sys.argv[3]
handler = getattr(__import__(module, fromlist=[attribute]), attribute)
class Context:
    function_name = "bench-cold-start"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:bench-cold-start"
    aws_request_id = str(uuid.uuid4())
    log_group_name = "/aws/lambda/bench-cold-start"
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 30000
handler(json.load(open(path)), Context())
print(json.dumps({"rss_kb": peak_kb()}))
"""
BASELINE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps({"rss_kb": peak_kb()}))
"""
# ru_maxrss would include the forking parent's high-water mark; VmHWM is this program's own.
PEAK = """
def peak_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
"""


def _python(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=REPO_ROOT,
        env=dict(os.environ),
    )


def _import_tree(statement: str) -> list[tuple[int, float, str]]:
    """(depth, cumulative µs, module) per line of `-X importtime`, in its post-order."""
    stderr = _python(["-X", "importtime", "-c", statement]).stderr
    tree = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if not cumulative.strip().isdigit():
            continue
        depth = (len(name) - len(name.lstrip())) // 2
        tree.append((depth, float(cumulative), name.strip()))
    return tree


def _split_ms(tree: list[tuple[int, float, str]], startup: set[str]) -> tuple[float, float]:
    """Milliseconds of the top-level imports before our first module, and from it on."""
    top = [(us, name) for depth, us, name in tree if depth == 0 and name not in startup]
    first_ours = next((index for index, (_, name) in enumerate(top) if _ours(name)), len(top))
    before = sum(us for us, _ in top[:first_ours]) / 1000
    after = sum(us for us, _ in top[first_ours:]) / 1000
    return before, after


def _ours(name: str) -> bool:
    return name.split(".")[0] in OURS


def third_party_imports(tree: list[tuple[int, float, str]]) -> list[str]:
    """Non-stdlib modules outside our packages imported directly by one of our modules."""
    found: list[str] = []
    for position, (depth, _, name) in enumerate(tree):
        top = name.split(".")[0]
        if _ours(name) or top in sys.stdlib_module_names or top.startswith("_"):
            continue
        parent = next((other for d, _, other in tree[position + 1 :] if d < depth), None)
        if parent is not None and _ours(parent) and name not in found:
            found.append(name)
    return found


def handlers(context: BenchContext) -> dict[str, str]:
    """Function logical id -> handler (`module.function`) from the template."""
    template = context.stack.template
    return {
        name: str(template.function_setting(name, "Handler"))
        for name in template.of_type("AWS::Serverless::Function")
    }


def _events(context: BenchContext) -> dict[str, dict[str, Any]]:
    """A 10-record batch per handler module."""
    settings = context.app_settings
    stream_arn = context.dynamodb.describe_table(TableName=settings.events_table)["Table"]["LatestStreamArn"]
    tenant_id, api_key = context.new_tenant("bench-cold")
    items = context.items(tenant_id, [event_body(n) for n in range(10)])
    api = http_api_event(
        "POST",
        "/v1/events",
        {"authorization": f"Bearer {api_key}", "content-type": "application/json"},
        json.dumps([event_body(n) for n in range(10)]).encode(),
        "127.0.0.1",
    )
    retries = {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": uuid.uuid4().hex,
                "body": json.dumps(
                    {
                        "tenant_id": tenant_id,
                        "event_id": item.event_id,
                        "subscription_id": "sub_missing",
                        "attempt": 2,
                        "due_at": item.received_at,
                    }
                ),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:bench",
                "awsRegion": "us-east-1",
            }
            for item in items
        ]
    }
    return {
        "ingest.handler": api,
        "processors.fanout.handler": stream_event(items, stream_arn),
        "processors.indexer.handler": stream_event(items, stream_arn),
        "processors.retry.handler": retries,
    }


def run_scenario(context: BenchContext) -> list[Figure]:
    repeats = context.settings.import_repeats
    startup = {name for _, _, name in _import_tree("pass")}
    events = _events(context)
    figures: list[Figure] = []
    for function, handler in sorted(handlers(context).items()):
        module, _, attribute = handler.rpartition(".")
        context.say(f"cold start: {module}")
        dependencies = third_party_imports(_import_tree(f"import {module}"))
        statement = "; ".join(f"import {name}" for name in [*dependencies, module])
        splits = [_split_ms(_import_tree(statement), startup) for _ in range(repeats)]
        baseline_ms = statistics.median(before for before, _ in splits)
        added_ms = statistics.median(after for _, after in splits)
        measured_ms = baseline_ms + added_ms
        figures.append(
            Figure(
                scenario=SCENARIO,
                name=f"import {module}",
                unit="ms",
                measured=measured_ms,
                baseline=baseline_ms,
                baseline_name=f"its {len(dependencies)} third-party imports alone",
                better="lower",
                target=ADDED_TARGET_MS,
                target_on="difference",
                target_text=f"ours adds ≤ {ADDED_TARGET_MS:.0f} ms",
                details={"added_ms": round(added_ms, 1), "third_party": dependencies},
            )
        )
        if module not in events:
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            json.dump(events[module], file)
        try:
            invoked = json.loads(
                _python(["-c", PEAK + INVOKE, module, attribute, file.name]).stdout.splitlines()[-1]
            )
        finally:
            Path(file.name).unlink()
        imported = json.loads(_python(["-c", PEAK + BASELINE, *dependencies]).stdout.splitlines()[-1])
        figures.append(
            Figure(
                scenario=SCENARIO,
                name=f"{function}: peak RSS, cold process handling a 10-record batch",
                unit="MB",
                measured=invoked["rss_kb"] / 1024,
                baseline=imported["rss_kb"] / 1024,
                baseline_name="a process importing its third-party imports alone",
                better="lower",
            )
        )
    return figures
