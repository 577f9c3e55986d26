"""The OpenSearch client, created once per process and endpoint.

Locally the endpoint is plain http (osmem-server); in AWS it is the domain's https endpoint and
every request is signed with SigV4 using the function's role credentials.
"""

import boto3
from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth, Urllib3HttpConnection

from ingest.core.runtime import runtime

TIMEOUT_SECONDS = 5
MAX_RETRIES = 2


@runtime.cached
def opensearch_client(endpoint: str) -> OpenSearch:
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
