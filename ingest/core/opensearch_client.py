"""The OpenSearch client, created once per process and endpoint.

Locally the endpoint is plain http (osmem-server); in AWS it is the domain's https endpoint and
every request is signed with SigV4 using the function's role credentials.

opensearchpy is imported with the first client, not with this module: the API only searches for
`GET /v1/events?q=`, and the library is a large part of its cold start (docs/decisions.md,
"Cold start").
"""

from typing import TYPE_CHECKING

import boto3

from ingest.core.runtime import runtime

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

TIMEOUT_SECONDS = 5
MAX_RETRIES = 2


@runtime.cached
def opensearch_client(endpoint: str) -> "OpenSearch":
    from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth, Urllib3HttpConnection

    if not endpoint.startswith("https://"):
        return OpenSearch(hosts=[endpoint], timeout=TIMEOUT_SECONDS, max_retries=MAX_RETRIES)
    session = boto3.Session()
    auth = Urllib3AWSV4SignerAuth(session.get_credentials(), session.region_name, "es")
    return OpenSearch(
        hosts=[endpoint],
        http_auth=auth,
        use_ssl=True,
        verify_certs=True,
        connection_class=Urllib3HttpConnection,
        timeout=TIMEOUT_SECONDS,
        max_retries=MAX_RETRIES,
    )
