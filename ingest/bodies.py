"""Request bodies as text: what API Gateway base64-encodes must still be UTF-8 JSON, and every
body is read by the one strict reader (`ingest.core.rawjson`), so what it refuses or cannot
represent is a 400 on every route, never a 500."""

import base64
import binascii
from typing import TypeVar

from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import BaseModel, ValidationError

from ingest.core import rawjson
from ingest.core.errors import MalformedRequest, PayloadTooLarge, ValidationFailed

ModelT = TypeVar("ModelT", bound=BaseModel)


def request_text(event: BaseProxyEvent) -> str:
    """The body as sent; a body that is not UTF-8 is a 400, never an unhandled error."""
    try:
        if not event.is_base64_encoded:
            text = event.body or ""
            text.encode()  # a str that UTF-8 cannot encode (a lone surrogate) came from no UTF-8 body
            return text
        return base64.b64decode(event.body or "", validate=True).decode()
    except (binascii.Error, UnicodeError) as exc:
        raise MalformedRequest("request body must be UTF-8 encoded JSON") from exc


def parse_json_model(body: str, model: type[ModelT], max_bytes: int) -> ModelT:
    """A request body as `model`: too large is a 413, not (acceptable) JSON a 400, schema errors a 422."""
    if len(body.encode()) > max_bytes:
        raise PayloadTooLarge(f"request body exceeds {max_bytes} bytes")
    try:
        document = rawjson.loads(body)
    except rawjson.MalformedJSON as exc:
        raise MalformedRequest(f"request body {exc}") from exc
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc) from exc
