from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.event_type_in import EventTypeIn
from ...models.event_type_out import EventTypeOut
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    *,
    body: EventTypeIn,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/event-types",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> EventTypeOut | Problem | None:
    if response.status_code == 201:
        response_201 = EventTypeOut.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

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
) -> Response[EventTypeOut | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EventTypeIn,
) -> Response[EventTypeOut | Problem]:
    """Add an event type to the catalog

     Body: `{"name": "order.created", "description": "…", "schema": {…}, "deprecated": false}`. With a
    `schema`, `POST /v1/events` refuses payloads of this type that do not match it (422 `schema-
    violation`, one error per failing path). An invalid schema is a 422 naming the problem. The
    operational types (`subscription.disabled`, `subscription.enabled`, `delivery.exhausted`) are
    reserved.

    Args:
        body (EventTypeIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EventTypeOut | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: EventTypeIn,
) -> EventTypeOut | Problem | None:
    """Add an event type to the catalog

     Body: `{"name": "order.created", "description": "…", "schema": {…}, "deprecated": false}`. With a
    `schema`, `POST /v1/events` refuses payloads of this type that do not match it (422 `schema-
    violation`, one error per failing path). An invalid schema is a 422 naming the problem. The
    operational types (`subscription.disabled`, `subscription.enabled`, `delivery.exhausted`) are
    reserved.

    Args:
        body (EventTypeIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EventTypeOut | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EventTypeIn,
) -> Response[EventTypeOut | Problem]:
    """Add an event type to the catalog

     Body: `{"name": "order.created", "description": "…", "schema": {…}, "deprecated": false}`. With a
    `schema`, `POST /v1/events` refuses payloads of this type that do not match it (422 `schema-
    violation`, one error per failing path). An invalid schema is a 422 naming the problem. The
    operational types (`subscription.disabled`, `subscription.enabled`, `delivery.exhausted`) are
    reserved.

    Args:
        body (EventTypeIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EventTypeOut | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: EventTypeIn,
) -> EventTypeOut | Problem | None:
    """Add an event type to the catalog

     Body: `{"name": "order.created", "description": "…", "schema": {…}, "deprecated": false}`. With a
    `schema`, `POST /v1/events` refuses payloads of this type that do not match it (422 `schema-
    violation`, one error per failing path). An invalid schema is a 422 naming the problem. The
    operational types (`subscription.disabled`, `subscription.enabled`, `delivery.exhausted`) are
    reserved.

    Args:
        body (EventTypeIn):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EventTypeOut | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
