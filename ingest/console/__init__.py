"""The web console: a static bundle (index.html, console.js, console.css, built from `web/` by
`npm run build` and committed) served by the API itself at `/console`, so it works wherever the
API runs. No authentication here: the page asks for an API key and calls the API with it.

Every answer carries a Content-Security-Policy without `unsafe-inline` and with no origin but the
API's own, `X-Frame-Options: DENY` and `X-Content-Type-Options: nosniff`.
"""

from functools import lru_cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from ingest.core.errors import NotFound

HERE = Path(__file__).parent
PREFIX = "/console"
ASSETS: dict[str, str] = {
    "index.html": "text/html; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Small and rebuilt with each release: revalidate rather than keep a stale bundle.
    "Cache-Control": "no-cache",
}


class ConsoleAssetNotFound(NotFound):
    pass


router = APIGatewayHttpRouter()


def is_console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


@lru_cache(maxsize=len(ASSETS))
def asset(name: str) -> str:
    """A file of the bundle, read once per process."""
    if name not in ASSETS:
        raise ConsoleAssetNotFound(f"no console file {name!r}")
    return (HERE / name).read_text(encoding="utf-8")


def _file(name: str) -> Response[str]:
    return Response(
        status_code=200, content_type=ASSETS[name], body=asset(name), headers=dict(SECURITY_HEADERS)
    )


@router.get(PREFIX, include_in_schema=False)
def console_page() -> Response[str]:
    return _file("index.html")


@router.get(PREFIX + "/", include_in_schema=False)
def console_slash() -> Response[str]:
    # The page's asset links are relative to `/console` (so a path prefix in front of the API works).
    return Response(
        status_code=308, content_type=None, body="", headers={**SECURITY_HEADERS, "Location": "../console"}
    )


@router.get(PREFIX + "/<name>", include_in_schema=False, compress=True)
def console_asset(name: str) -> Response[str]:
    if name == "index.html" or name not in ASSETS:
        raise ConsoleAssetNotFound(f"no console file {name!r}")
    return _file(name)
