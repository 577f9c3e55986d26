"""`GET /v1/me`: who the calling API key is (for a client's connection label, e.g. Zapier's)."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel, ConfigDict, Field

from ingest.core.api_keys_table import ApiKeyInfo
from ingest.responses import JSON, ok, problems

router = APIGatewayHttpRouter()


class Me(BaseModel):
    model_config = ConfigDict(defer_build=True)

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
    # The key as authentication read it for this request: no second read.
    key: ApiKeyInfo = router.context["api_key"]
    body = Me(tenant_id=key.tenant_id, key_id=key.key_id, key_hint=key.key_hint, created_at=key.created_at)
    return Response(status_code=200, content_type=JSON, body=body.model_dump_json())
