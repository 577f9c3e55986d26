from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.get_subscription_stats_window import GetSubscriptionStatsWindow
from ...models.problem import Problem
from ...models.subscription_stats import SubscriptionStats
from ...types import UNSET, Response, Unset


def _get_kwargs(
    subscription_id: str,
    *,
    window: GetSubscriptionStatsWindow | Unset = GetSubscriptionStatsWindow.VALUE_0,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_window: str | Unset = UNSET
    if not isinstance(window, Unset):
        json_window = window.value

    params["window"] = json_window

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/subscriptions/{subscription_id}/stats".format(
            subscription_id=quote(str(subscription_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | SubscriptionStats | None:
    if response.status_code == 200:
        response_200 = SubscriptionStats.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

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
) -> Response[Problem | SubscriptionStats]:
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
    window: GetSubscriptionStatsWindow | Unset = GetSubscriptionStatsWindow.VALUE_0,
) -> Response[Problem | SubscriptionStats]:
    """A subscription's delivery success rate, outcomes and latency percentiles, per minute

     Computed from the delivery records: the attempts made in the window (of deliveries of events
    accepted since one window before it). At most 5000 delivery records are read (newest events first);
    beyond that `truncated` is true and the numbers cover the newest only.

    Args:
        subscription_id (str): Subscription id (sub_…)
        window (GetSubscriptionStatsWindow | Unset): `1h` (one-minute buckets) or `24h` (15-minute
            buckets), ending now Default: GetSubscriptionStatsWindow.VALUE_0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SubscriptionStats]
    """

    kwargs = _get_kwargs(
        subscription_id=subscription_id,
        window=window,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    subscription_id: str,
    *,
    client: AuthenticatedClient | Client,
    window: GetSubscriptionStatsWindow | Unset = GetSubscriptionStatsWindow.VALUE_0,
) -> Problem | SubscriptionStats | None:
    """A subscription's delivery success rate, outcomes and latency percentiles, per minute

     Computed from the delivery records: the attempts made in the window (of deliveries of events
    accepted since one window before it). At most 5000 delivery records are read (newest events first);
    beyond that `truncated` is true and the numbers cover the newest only.

    Args:
        subscription_id (str): Subscription id (sub_…)
        window (GetSubscriptionStatsWindow | Unset): `1h` (one-minute buckets) or `24h` (15-minute
            buckets), ending now Default: GetSubscriptionStatsWindow.VALUE_0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SubscriptionStats
    """

    return sync_detailed(
        subscription_id=subscription_id,
        client=client,
        window=window,
    ).parsed


async def asyncio_detailed(
    subscription_id: str,
    *,
    client: AuthenticatedClient | Client,
    window: GetSubscriptionStatsWindow | Unset = GetSubscriptionStatsWindow.VALUE_0,
) -> Response[Problem | SubscriptionStats]:
    """A subscription's delivery success rate, outcomes and latency percentiles, per minute

     Computed from the delivery records: the attempts made in the window (of deliveries of events
    accepted since one window before it). At most 5000 delivery records are read (newest events first);
    beyond that `truncated` is true and the numbers cover the newest only.

    Args:
        subscription_id (str): Subscription id (sub_…)
        window (GetSubscriptionStatsWindow | Unset): `1h` (one-minute buckets) or `24h` (15-minute
            buckets), ending now Default: GetSubscriptionStatsWindow.VALUE_0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SubscriptionStats]
    """

    kwargs = _get_kwargs(
        subscription_id=subscription_id,
        window=window,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    subscription_id: str,
    *,
    client: AuthenticatedClient | Client,
    window: GetSubscriptionStatsWindow | Unset = GetSubscriptionStatsWindow.VALUE_0,
) -> Problem | SubscriptionStats | None:
    """A subscription's delivery success rate, outcomes and latency percentiles, per minute

     Computed from the delivery records: the attempts made in the window (of deliveries of events
    accepted since one window before it). At most 5000 delivery records are read (newest events first);
    beyond that `truncated` is true and the numbers cover the newest only.

    Args:
        subscription_id (str): Subscription id (sub_…)
        window (GetSubscriptionStatsWindow | Unset): `1h` (one-minute buckets) or `24h` (15-minute
            buckets), ending now Default: GetSubscriptionStatsWindow.VALUE_0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SubscriptionStats
    """

    return (
        await asyncio_detailed(
            subscription_id=subscription_id,
            client=client,
            window=window,
        )
    ).parsed
