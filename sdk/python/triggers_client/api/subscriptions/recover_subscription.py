from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.recover_in import RecoverIn
from ...models.recover_out import RecoverOut
from ...types import Response


def _get_kwargs(
    subscription_id: str,
    *,
    body: RecoverIn,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/subscriptions/{subscription_id}/recover".format(
            subscription_id=quote(str(subscription_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | RecoverOut | None:
    if response.status_code == 202:
        response_202 = RecoverOut.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | RecoverOut]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    subscription_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: RecoverIn,
) -> Response[Problem | RecoverOut]:
    """Send every failed delivery of a time window again (same webhook-id)

     Body: `{"since": "2026-03-01T00:00:00Z", "until": "…"}` (`until` defaults to now; the window is at
    most 14 days). Every delivery of this subscription that failed for good (dead-lettered, or refused
    with 410) for an event received in the window is reopened and attempted again through the retry
    queue, with the usual retries and DLQ, under the event's id as `webhook-id`. A delivery already
    reopened (by an earlier recover still retrying, a replay, a redrive) is left alone: calling twice
    sends nothing twice. At most 500 deliveries per call, oldest first; `truncated` says to call again
    from `next_since`.

    Args:
        subscription_id (str): Subscription id (sub_…)
        body (RecoverIn): The window of events (by receipt time) whose failed deliveries are sent
            again.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RecoverOut]
    """

    kwargs = _get_kwargs(
        subscription_id=subscription_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    subscription_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: RecoverIn,
) -> Problem | RecoverOut | None:
    """Send every failed delivery of a time window again (same webhook-id)

     Body: `{"since": "2026-03-01T00:00:00Z", "until": "…"}` (`until` defaults to now; the window is at
    most 14 days). Every delivery of this subscription that failed for good (dead-lettered, or refused
    with 410) for an event received in the window is reopened and attempted again through the retry
    queue, with the usual retries and DLQ, under the event's id as `webhook-id`. A delivery already
    reopened (by an earlier recover still retrying, a replay, a redrive) is left alone: calling twice
    sends nothing twice. At most 500 deliveries per call, oldest first; `truncated` says to call again
    from `next_since`.

    Args:
        subscription_id (str): Subscription id (sub_…)
        body (RecoverIn): The window of events (by receipt time) whose failed deliveries are sent
            again.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RecoverOut
    """

    return sync_detailed(
        subscription_id=subscription_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    subscription_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: RecoverIn,
) -> Response[Problem | RecoverOut]:
    """Send every failed delivery of a time window again (same webhook-id)

     Body: `{"since": "2026-03-01T00:00:00Z", "until": "…"}` (`until` defaults to now; the window is at
    most 14 days). Every delivery of this subscription that failed for good (dead-lettered, or refused
    with 410) for an event received in the window is reopened and attempted again through the retry
    queue, with the usual retries and DLQ, under the event's id as `webhook-id`. A delivery already
    reopened (by an earlier recover still retrying, a replay, a redrive) is left alone: calling twice
    sends nothing twice. At most 500 deliveries per call, oldest first; `truncated` says to call again
    from `next_since`.

    Args:
        subscription_id (str): Subscription id (sub_…)
        body (RecoverIn): The window of events (by receipt time) whose failed deliveries are sent
            again.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | RecoverOut]
    """

    kwargs = _get_kwargs(
        subscription_id=subscription_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    subscription_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: RecoverIn,
) -> Problem | RecoverOut | None:
    """Send every failed delivery of a time window again (same webhook-id)

     Body: `{"since": "2026-03-01T00:00:00Z", "until": "…"}` (`until` defaults to now; the window is at
    most 14 days). Every delivery of this subscription that failed for good (dead-lettered, or refused
    with 410) for an event received in the window is reopened and attempted again through the retry
    queue, with the usual retries and DLQ, under the event's id as `webhook-id`. A delivery already
    reopened (by an earlier recover still retrying, a replay, a redrive) is left alone: calling twice
    sends nothing twice. At most 500 deliveries per call, oldest first; `truncated` says to call again
    from `next_since`.

    Args:
        subscription_id (str): Subscription id (sub_…)
        body (RecoverIn): The window of events (by receipt time) whose failed deliveries are sent
            again.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | RecoverOut
    """

    return (
        await asyncio_detailed(
            subscription_id=subscription_id,
            client=client,
            body=body,
        )
    ).parsed
