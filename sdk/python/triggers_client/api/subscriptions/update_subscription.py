from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.subscription_out import SubscriptionOut
from ...models.subscription_patch import SubscriptionPatch
from ...types import Response


def _get_kwargs(
    subscription_id: str,
    *,
    body: SubscriptionPatch,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/v1/subscriptions/{subscription_id}".format(
            subscription_id=quote(str(subscription_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | SubscriptionOut | None:
    if response.status_code == 200:
        response_200 = SubscriptionOut.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 412:
        response_412 = Problem.from_dict(response.json())

        return response_412

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
) -> Response[Problem | SubscriptionOut]:
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
    body: SubscriptionPatch,
) -> Response[Problem | SubscriptionOut]:
    """Change a subscription (JSON merge patch); the secret is kept

     A JSON merge patch (RFC 7396): fields left out are unchanged, `null` removes an optional field
    (`description`, `metadata`, `headers`, `filter`; `target_url` and `event_types` cannot be removed).
    `headers` and `metadata` are merged name by name (`null` removes one name); `event_types` and
    `filter` are replaced whole. A new `target_url` is checked as at create. The change applies to every
    event accepted after this call returns (deliveries already scheduled for retry use the new target
    and headers too); the signing secret, status and delivery history are kept. A patch that changes
    nothing writes nothing. The new target_url and event_types of another subscription of the tenant is
    a 409 naming it. With `If-Match: <ETag>` (from a GET or an earlier PATCH), the change is made only
    if the subscription is still at that version, else 412.

    Args:
        subscription_id (str): Subscription id (sub_…)
        body (SubscriptionPatch): A JSON merge patch (RFC 7396) of a subscription: an absent field
            is unchanged, `null`
            removes an optional one; `headers` and `metadata` are merged name by name (`null` removes
            that name); `event_types` and `filter` are replaced whole. A new patchable field is one
            line
            here (and its attribute in SubscriptionItem).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SubscriptionOut]
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
    body: SubscriptionPatch,
) -> Problem | SubscriptionOut | None:
    """Change a subscription (JSON merge patch); the secret is kept

     A JSON merge patch (RFC 7396): fields left out are unchanged, `null` removes an optional field
    (`description`, `metadata`, `headers`, `filter`; `target_url` and `event_types` cannot be removed).
    `headers` and `metadata` are merged name by name (`null` removes one name); `event_types` and
    `filter` are replaced whole. A new `target_url` is checked as at create. The change applies to every
    event accepted after this call returns (deliveries already scheduled for retry use the new target
    and headers too); the signing secret, status and delivery history are kept. A patch that changes
    nothing writes nothing. The new target_url and event_types of another subscription of the tenant is
    a 409 naming it. With `If-Match: <ETag>` (from a GET or an earlier PATCH), the change is made only
    if the subscription is still at that version, else 412.

    Args:
        subscription_id (str): Subscription id (sub_…)
        body (SubscriptionPatch): A JSON merge patch (RFC 7396) of a subscription: an absent field
            is unchanged, `null`
            removes an optional one; `headers` and `metadata` are merged name by name (`null` removes
            that name); `event_types` and `filter` are replaced whole. A new patchable field is one
            line
            here (and its attribute in SubscriptionItem).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SubscriptionOut
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
    body: SubscriptionPatch,
) -> Response[Problem | SubscriptionOut]:
    """Change a subscription (JSON merge patch); the secret is kept

     A JSON merge patch (RFC 7396): fields left out are unchanged, `null` removes an optional field
    (`description`, `metadata`, `headers`, `filter`; `target_url` and `event_types` cannot be removed).
    `headers` and `metadata` are merged name by name (`null` removes one name); `event_types` and
    `filter` are replaced whole. A new `target_url` is checked as at create. The change applies to every
    event accepted after this call returns (deliveries already scheduled for retry use the new target
    and headers too); the signing secret, status and delivery history are kept. A patch that changes
    nothing writes nothing. The new target_url and event_types of another subscription of the tenant is
    a 409 naming it. With `If-Match: <ETag>` (from a GET or an earlier PATCH), the change is made only
    if the subscription is still at that version, else 412.

    Args:
        subscription_id (str): Subscription id (sub_…)
        body (SubscriptionPatch): A JSON merge patch (RFC 7396) of a subscription: an absent field
            is unchanged, `null`
            removes an optional one; `headers` and `metadata` are merged name by name (`null` removes
            that name); `event_types` and `filter` are replaced whole. A new patchable field is one
            line
            here (and its attribute in SubscriptionItem).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SubscriptionOut]
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
    body: SubscriptionPatch,
) -> Problem | SubscriptionOut | None:
    """Change a subscription (JSON merge patch); the secret is kept

     A JSON merge patch (RFC 7396): fields left out are unchanged, `null` removes an optional field
    (`description`, `metadata`, `headers`, `filter`; `target_url` and `event_types` cannot be removed).
    `headers` and `metadata` are merged name by name (`null` removes one name); `event_types` and
    `filter` are replaced whole. A new `target_url` is checked as at create. The change applies to every
    event accepted after this call returns (deliveries already scheduled for retry use the new target
    and headers too); the signing secret, status and delivery history are kept. A patch that changes
    nothing writes nothing. The new target_url and event_types of another subscription of the tenant is
    a 409 naming it. With `If-Match: <ETag>` (from a GET or an earlier PATCH), the change is made only
    if the subscription is still at that version, else 412.

    Args:
        subscription_id (str): Subscription id (sub_…)
        body (SubscriptionPatch): A JSON merge patch (RFC 7396) of a subscription: an absent field
            is unchanged, `null`
            removes an optional one; `headers` and `metadata` are merged name by name (`null` removes
            that name); `event_types` and `filter` are replaced whole. A new patchable field is one
            line
            here (and its attribute in SubscriptionItem).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SubscriptionOut
    """

    return (
        await asyncio_detailed(
            subscription_id=subscription_id,
            client=client,
            body=body,
        )
    ).parsed
