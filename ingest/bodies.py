"""Request bodies as text: what API Gateway base64-encodes must still be UTF-8 JSON."""

import base64
import binascii
import json
from typing import TypeVar

from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from pydantic import BaseModel, ValidationError

from ingest.core.errors import MalformedRequest, PayloadTooLarge, ValidationFailed

ModelT = TypeVar("ModelT", bound=BaseModel)


def request_text(event: BaseProxyEvent) -> str:
    """The body as sent; a body that is not UTF-8 is a 400, never an unhandled error."""
    if not event.is_base64_encoded:
        return event.body or ""
    try:
        return base64.b64decode(event.body or "", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise MalformedRequest("request body must be UTF-8 encoded JSON") from exc


def parse_json_model(body: str, model: type[ModelT], max_bytes: int) -> ModelT:
    """A request body as `model`: too large is a 413, not JSON a 400, schema errors a 422."""
    if len(body.encode()) > max_bytes:
        raise PayloadTooLarge(f"request body exceeds {max_bytes} bytes")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise MalformedRequest(f"request body is not valid JSON: {exc}") from exc
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ValidationFailed.from_pydantic(exc) from exc
