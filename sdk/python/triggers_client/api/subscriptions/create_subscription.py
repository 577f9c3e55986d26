from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.subscription_in import SubscriptionIn
from ...models.subscription_with_secret import SubscriptionWithSecret
from ...types import Response


def _get_kwargs(
    *,
    body: SubscriptionIn,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/subscriptions",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | SubscriptionWithSecret | None:
    if response.status_code == 201:
        response_201 = SubscriptionWithSecret.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

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
) -> Response[Problem | SubscriptionWithSecret]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: SubscriptionIn,
) -> Response[Problem | SubscriptionWithSecret]:
    """Subscribe a webhook (Zapier REST hook subscribe)

     Body: `{"target_url": "https://…", "event_types": ["order.created"]}` (`["*"]` for all), optionally
    `description`, `metadata`, `headers` (sent with every delivery, stored encrypted, shown masked) and
    a content `filter`. The response carries the Standard Webhooks signing `secret`: the only time it is
    shown (besides rotate-secret). The same target_url and event types again is a 409 whose
    `subscription_id` names the existing subscription. A tenant has at most its quota of subscriptions
    (100 by default): one more is a 409 `subscription-quota-exceeded` naming the `limit`; delete one
    first. Optional: `rate_limit` (deliveries per second, 1 to 1000) and `ordering` (`"strict"` or
    `"none"`, see docs/webhooks.md).

    Args:
        body (SubscriptionIn): A subscribe request. `event_types` is deduplicated, order kept;
            `["*"]` means every type.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SubscriptionWithSecret]
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
    body: SubscriptionIn,
) -> Problem | SubscriptionWithSecret | None:
    """Subscribe a webhook (Zapier REST hook subscribe)

     Body: `{"target_url": "https://…", "event_types": ["order.created"]}` (`["*"]` for all), optionally
    `description`, `metadata`, `headers` (sent with every delivery, stored encrypted, shown masked) and
    a content `filter`. The response carries the Standard Webhooks signing `secret`: the only time it is
    shown (besides rotate-secret). The same target_url and event types again is a 409 whose
    `subscription_id` names the existing subscription. A tenant has at most its quota of subscriptions
    (100 by default): one more is a 409 `subscription-quota-exceeded` naming the `limit`; delete one
    first. Optional: `rate_limit` (deliveries per second, 1 to 1000) and `ordering` (`"strict"` or
    `"none"`, see docs/webhooks.md).

    Args:
        body (SubscriptionIn): A subscribe request. `event_types` is deduplicated, order kept;
            `["*"]` means every type.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SubscriptionWithSecret
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: SubscriptionIn,
) -> Response[Problem | SubscriptionWithSecret]:
    """Subscribe a webhook (Zapier REST hook subscribe)

     Body: `{"target_url": "https://…", "event_types": ["order.created"]}` (`["*"]` for all), optionally
    `description`, `metadata`, `headers` (sent with every delivery, stored encrypted, shown masked) and
    a content `filter`. The response carries the Standard Webhooks signing `secret`: the only time it is
    shown (besides rotate-secret). The same target_url and event types again is a 409 whose
    `subscription_id` names the existing subscription. A tenant has at most its quota of subscriptions
    (100 by default): one more is a 409 `subscription-quota-exceeded` naming the `limit`; delete one
    first. Optional: `rate_limit` (deliveries per second, 1 to 1000) and `ordering` (`"strict"` or
    `"none"`, see docs/webhooks.md).

    Args:
        body (SubscriptionIn): A subscribe request. `event_types` is deduplicated, order kept;
            `["*"]` means every type.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SubscriptionWithSecret]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: SubscriptionIn,
) -> Problem | SubscriptionWithSecret | None:
    """Subscribe a webhook (Zapier REST hook subscribe)

     Body: `{"target_url": "https://…", "event_types": ["order.created"]}` (`["*"]` for all), optionally
    `description`, `metadata`, `headers` (sent with every delivery, stored encrypted, shown masked) and
    a content `filter`. The response carries the Standard Webhooks signing `secret`: the only time it is
    shown (besides rotate-secret). The same target_url and event types again is a 409 whose
    `subscription_id` names the existing subscription. A tenant has at most its quota of subscriptions
    (100 by default): one more is a 409 `subscription-quota-exceeded` naming the `limit`; delete one
    first. Optional: `rate_limit` (deliveries per second, 1 to 1000) and `ordering` (`"strict"` or
    `"none"`, see docs/webhooks.md).

    Args:
        body (SubscriptionIn): A subscribe request. `event_types` is deduplicated, order kept;
            `["*"]` means every type.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SubscriptionWithSecret
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
