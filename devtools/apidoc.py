"""docs/api.md's route reference, generated from the OpenAPI document the API serves.

The page's prose (authentication, errors, idempotency...) is written by hand; the part between
the two markers below is rewritten by `triggers openapi` from the document, with a curl example
per operation, so the reference cannot drift from the code (tests/unit/test_openapi.py).
"""

import json
import re
from typing import Any

BEGIN = "<!-- BEGIN GENERATED: routes (uv run triggers openapi) -->"
END = "<!-- END GENERATED: routes -->"
METHOD_ORDER = ("get", "post", "put", "patch", "delete")
PATH_EXAMPLES = {
    "event_id": "01JDQ5V8X3K9T2W7M4N6P8R0SA",
    "subscription_id": "sub_01JDQ5W2B7C4D6E8F0G2H4J6KA",
}
# Query strings worth showing, by operation.
QUERY_EXAMPLES: dict[tuple[str, str], str] = {
    ("get", "/v1/events"): "?event_type=order.created&limit=10&q=payload.order_id:42",
    ("get", "/v1/inbox"): "?limit=10",
}


def is_public(operation: dict[str, Any]) -> bool:
    """An operation whose security requirements include the empty one needs no key."""
    return {} in operation.get("security", [{"bearerAuth": []}]) or operation.get("security") == []


def first_example(operation: dict[str, Any]) -> Any:
    """The first example request body the operation documents (None without a body)."""
    for content in operation.get("requestBody", {}).get("content", {}).values():
        for example in content.get("examples", {}).values():
            return example["value"]
    return None


def curl(method: str, path: str, operation: dict[str, Any]) -> str:
    url_path = re.sub(r"\{(\w+)\}", lambda match: PATH_EXAMPLES.get(match.group(1), "ID"), path)
    url = f'"$URL{url_path}{QUERY_EXAMPLES.get((method, path), "")}"'
    verb = "" if method == "get" else f" -X {method.upper()}"
    parts = [f"curl -sS{verb} {url}"]
    if not is_public(operation):
        parts.append('-H "Authorization: Bearer $KEY"')
    body = first_example(operation)
    if body is not None:
        parts.append(f"-d '{json.dumps(body)}'")
    return " \\\n     ".join(parts)


def _schema_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return "`" + str(schema["$ref"]).rsplit("/", 1)[-1] + "`"
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return " or ".join(_schema_name(option) for option in schema[combinator])
    if schema.get("type") == "array":
        bounds = ""
        if "maxItems" in schema:
            bounds = f" ({schema.get('minItems', 0)} to {schema['maxItems']})"
        return f"array of {_schema_name(schema.get('items', {}))}{bounds}"
    return f"`{schema.get('type', 'any')}`"


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _parameters(operation: dict[str, Any]) -> list[str]:
    rows = []
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        constraints = [
            f"{name} {_number(schema[name])}"
            for name in ("format", "minimum", "maximum", "minLength", "maxLength", "default")
            if name in schema
        ]
        where = parameter["in"] + (", required" if parameter.get("required") else "")
        detail = "; ".join(constraints)
        rows.append(f"| `{parameter['name']}` | {where} | {_schema_name(schema)} | {detail} |")
    if not rows:
        return []
    return ["| parameter | in | type | constraints |", "| --- | --- | --- | --- |", *rows, ""]


def _responses(operation: dict[str, Any]) -> list[str]:
    rows = []
    for status in sorted(operation.get("responses", {})):
        response = operation["responses"][status]
        content = response.get("content", {})
        shape = ", ".join(
            f"{_schema_name(body.get('schema', {}))} ({kind})" for kind, body in content.items()
        )
        headers = "".join(
            f"; header `{name}: {header['schema']['const']}`"
            if "const" in header.get("schema", {})
            else f"; header `{name}`"
            for name, header in response.get("headers", {}).items()
        )
        rows.append(f"| {status} | {response.get('description', '')}{headers} | {shape or 'none'} |")
    return ["| status | meaning | body |", "| --- | --- | --- |", *rows, ""]


def render_routes(spec: dict[str, Any]) -> str:
    lines = [BEGIN, "", "## Route reference", ""]
    lines.append(
        "Generated from [`openapi.json`](openapi.json). The examples assume "
        "`export URL=http://127.0.0.1:3000 KEY=trg_...` (what `make up` prints)."
    )
    lines.append("")
    for path in sorted(spec["paths"]):
        item = spec["paths"][path]
        for method in sorted(item, key=METHOD_ORDER.index):
            operation = item[method]
            lines += [f"### `{method.upper()} {path}`", "", operation.get("summary", ""), ""]
            if operation.get("description"):
                lines += [operation["description"], ""]
            if is_public(operation):
                lines += ["No authentication.", ""]
            body = operation.get("requestBody", {}).get("content", {})
            for kind, content in body.items():
                lines += [f"Body ({kind}): {_schema_name(content.get('schema', {}))}.", ""]
            lines += _parameters(operation)
            lines += _responses(operation)
            lines += ["```sh", curl(method, path, operation), "```", ""]
    lines.append(END)
    return "\n".join(lines)


def splice(page: str, spec: dict[str, Any]) -> str:
    """`page` with its generated region replaced (appended when the page has none yet)."""
    generated = render_routes(spec)
    if BEGIN in page and END in page:
        before, rest = page.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        return before + generated + after
    return page.rstrip("\n") + "\n\n" + generated + "\n"
