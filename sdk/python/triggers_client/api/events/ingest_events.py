from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.accepted_batch import AcceptedBatch
from ...models.accepted_event import AcceptedEvent
from ...models.event_in import EventIn
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: EventIn | list[EventIn],
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/events",
    }

    if isinstance(body, EventIn):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = []
        for body_type_1_item_data in body:
            body_type_1_item = body_type_1_item_data.to_dict()
            _kwargs["json"].append(body_type_1_item)

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AcceptedBatch | AcceptedEvent | Problem | None:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> AcceptedBatch | AcceptedEvent:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = AcceptedEvent.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = AcceptedBatch.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(response.json())

        return response_200

    if response.status_code == 201:

        def _parse_response_201(data: object) -> AcceptedBatch | AcceptedEvent:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_201_type_0 = AcceptedEvent.from_dict(data)

                return response_201_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_201_type_1 = AcceptedBatch.from_dict(data)

            return response_201_type_1

        response_201 = _parse_response_201(response.json())

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
) -> Response[AcceptedBatch | AcceptedEvent | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EventIn | list[EventIn],
    idempotency_key: str | Unset = UNSET,
) -> Response[AcceptedBatch | AcceptedEvent | Problem]:
    """Ingest one event, or a JSON array of up to 25

     Body: an event `{event_type, source?, occurred_at?, payload}` or an array of them. `payload` is
    stored exactly as sent. With `Idempotency-Key`, the first attempt fixes the events' ids: a retry
    with the same key and body stores, under those ids, whatever an interrupted attempt (503) left out,
    and never stores an event twice; it answers 201 if it stored anything, else 200 with the original
    ids. A different body is a 409. Without a key, a 503 may leave part of a batch stored and a retry
    stores that part again.

    Args:
        idempotency_key (str | Unset):
        body (EventIn | list[EventIn]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AcceptedBatch | AcceptedEvent | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: EventIn | list[EventIn],
    idempotency_key: str | Unset = UNSET,
) -> AcceptedBatch | AcceptedEvent | Problem | None:
    """Ingest one event, or a JSON array of up to 25

     Body: an event `{event_type, source?, occurred_at?, payload}` or an array of them. `payload` is
    stored exactly as sent. With `Idempotency-Key`, the first attempt fixes the events' ids: a retry
    with the same key and body stores, under those ids, whatever an interrupted attempt (503) left out,
    and never stores an event twice; it answers 201 if it stored anything, else 200 with the original
    ids. A different body is a 409. Without a key, a 503 may leave part of a batch stored and a retry
    stores that part again.

    Args:
        idempotency_key (str | Unset):
        body (EventIn | list[EventIn]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AcceptedBatch | AcceptedEvent | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: EventIn | list[EventIn],
    idempotency_key: str | Unset = UNSET,
) -> Response[AcceptedBatch | AcceptedEvent | Problem]:
    """Ingest one event, or a JSON array of up to 25

     Body: an event `{event_type, source?, occurred_at?, payload}` or an array of them. `payload` is
    stored exactly as sent. With `Idempotency-Key`, the first attempt fixes the events' ids: a retry
    with the same key and body stores, under those ids, whatever an interrupted attempt (503) left out,
    and never stores an event twice; it answers 201 if it stored anything, else 200 with the original
    ids. A different body is a 409. Without a key, a 503 may leave part of a batch stored and a retry
    stores that part again.

    Args:
        idempotency_key (str | Unset):
        body (EventIn | list[EventIn]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AcceptedBatch | AcceptedEvent | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: EventIn | list[EventIn],
    idempotency_key: str | Unset = UNSET,
) -> AcceptedBatch | AcceptedEvent | Problem | None:
    """Ingest one event, or a JSON array of up to 25

     Body: an event `{event_type, source?, occurred_at?, payload}` or an array of them. `payload` is
    stored exactly as sent. With `Idempotency-Key`, the first attempt fixes the events' ids: a retry
    with the same key and body stores, under those ids, whatever an interrupted attempt (503) left out,
    and never stores an event twice; it answers 201 if it stored anything, else 200 with the original
    ids. A different body is a 409. Without a key, a 503 may leave part of a batch stored and a retry
    stores that part again.

    Args:
        idempotency_key (str | Unset):
        body (EventIn | list[EventIn]):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AcceptedBatch | AcceptedEvent | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
