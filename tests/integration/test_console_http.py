"""The console's static files, served by the API itself: no key needed, security headers on every
answer, nothing but the bundle, and the committed bundle is the build of the committed sources."""

import gzip
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from devtools.stack import EmbeddedStack
from ingest.console import ASSETS, HERE

WEB = HERE / "web"


def get(stack: EmbeddedStack, path: str, **headers: str) -> requests.Response:
    return requests.get(stack.api_url + path, headers=headers, timeout=30, allow_redirects=False)


def assert_secure(reply: requests.Response) -> None:
    policy = reply.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert not re.search(r"https?://|\*", policy), "no other origin, no wildcard"
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "no-referrer"


def test_the_page_needs_no_key_and_carries_the_security_headers(stack: EmbeddedStack) -> None:
    reply = get(stack, "/console")

    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert_secure(reply)
    assert 'src="console/console.js"' in reply.text and 'href="console/console.css"' in reply.text
    assert "<script>" not in reply.text and "style=" not in reply.text, (
        "nothing inline: the CSP would block it"
    )


@pytest.mark.parametrize("name", ["console.js", "console.css"])
def test_the_bundle_files_are_served_compressed_and_secured(stack: EmbeddedStack, name: str) -> None:
    reply = get(stack, f"/console/{name}", **{"Accept-Encoding": "gzip"})

    assert reply.status_code == 200
    assert reply.headers["content-type"] == ASSETS[name]
    assert reply.headers["content-encoding"] == "gzip"
    assert reply.content == (HERE / name).read_bytes()  # requests decompresses
    assert_secure(reply)


def test_the_bundle_loads_nothing_from_another_origin() -> None:
    for name in ASSETS:
        text = (HERE / name).read_text()
        # The SVG namespace and RFC 2606 example hosts (placeholders) name no origin anything is loaded from.
        origins = {
            origin
            for origin in re.findall(r"https?://[a-zA-Z0-9.-]+", text)
            if origin != "http://www.w3.org" and not origin.endswith(".example.com")
        }
        assert not origins, f"{name} names {origins}"


@pytest.mark.parametrize(
    "path", ["/console/index.html", "/console/app.js", "/console/..%2F__init__.py", "/console/web"]
)
def test_anything_else_under_console_is_404(stack: EmbeddedStack, path: str) -> None:
    reply = get(stack, path)

    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/problem+json"


def test_a_trailing_slash_redirects_to_the_page(stack: EmbeddedStack) -> None:
    reply = get(stack, "/console/")

    assert reply.status_code == 308
    assert reply.headers["location"] == "../console"


def test_the_committed_bundle_is_the_build_of_the_sources(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        assert not os.environ.get("CI"), "npm is missing: `make setup` installs Node.js and npm"
        pytest.skip("npm is not installed")
    # Given the locked dependencies (npm ci, skipped when node_modules matches the lockfile)
    stamp, lock = WEB / "node_modules" / ".package-lock.json", WEB / "package-lock.json"
    if not stamp.is_file() or stamp.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, capture_output=True)

    # When the sources are built elsewhere
    subprocess.run(
        [npm, "run", "build"],
        cwd=WEB,
        check=True,
        capture_output=True,
        env={**os.environ, "OUT_DIR": str(tmp_path)},
    )

    # Then the result is what is committed (run `npm run build` in ingest/console/web after a change)
    for name in ("console.js", "console.css"):
        assert (tmp_path / name).read_bytes() == (HERE / name).read_bytes(), f"{name} is stale: npm run build"
    assert len(gzip.compress((HERE / "console.js").read_bytes())) < 60_000, "keep the bundle small"
