"""`GET /v1/me`: who the calling API key is (for a client's connection label, e.g. Zapier's)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, Field

from ingest.core import api_keys_table
from ingest.core.clients import dynamodb_client
from ingest.core.settings import ingest_settings
from ingest.responses import JSON, ok, problems

router = APIGatewayHttpRouter()


class Me(BaseModel):
    tenant_id: str
    key_id: str = Field(description="Names the key (the start of its SHA-256); never the key itself")
    key_hint: str | None = Field(description="The key's first characters (`trg_abcd`)")
    created_at: str | None = Field(description="When the key was created")


@router.get(
    "/v1/me",
    tags=["meta"],
    summary="The tenant and API key making this request",
    operation_id="get_me",
    responses={200: ok(Me), **problems(401, 503)},
)
def me() -> Response[str]:
    key_hash = str(router.context["key_hash"])
    info = api_keys_table.get_api_key(dynamodb_client(), ingest_settings().api_keys_table, key_hash)
    body = Me(
        tenant_id=str(router.context["tenant_id"]),
        key_id=info.key_id if info else key_hash[: api_keys_table.KEY_ID_CHARS],
        key_hint=info.key_hint if info else None,
        created_at=info.created_at if info else None,
    )
    return Response(status_code=200, content_type=JSON, body=body.model_dump_json())
