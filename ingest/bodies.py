"""Request bodies as text: what API Gateway base64-encodes must still be UTF-8 JSON."""

import base64
import binascii

from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

from ingest.errors import MalformedRequest


def request_text(event: BaseProxyEvent) -> str:
    """The body as sent; a body that is not UTF-8 is a 400, never an unhandled error."""
    if not event.is_base64_encoded:
        return event.body or ""
    try:
        return base64.b64decode(event.body or "", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise MalformedRequest("request body must be UTF-8 encoded JSON") from exc
