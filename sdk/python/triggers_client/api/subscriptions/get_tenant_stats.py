from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.get_tenant_stats_window import GetTenantStatsWindow
from ...models.problem import Problem
from ...models.tenant_stats import TenantStats
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    window: GetTenantStatsWindow | Unset = GetTenantStatsWindow.VALUE_0,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_window: str | Unset = UNSET
    if not isinstance(window, Unset):
        json_window = window.value

    params["window"] = json_window

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/stats",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | TenantStats | None:
    if response.status_code == 200:
        response_200 = TenantStats.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

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
) -> Response[Problem | TenantStats]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    window: GetTenantStatsWindow | Unset = GetTenantStatsWindow.VALUE_0,
) -> Response[Problem | TenantStats]:
    """The tenant's delivery statistics: all subscriptions together, and each one's totals

     Computed from the delivery records of every subscription of the tenant. At most 5000 delivery
    records are read (newest events first); beyond that `truncated` is true and the numbers cover the
    newest only. The bound is shared evenly by the subscriptions.

    Args:
        window (GetTenantStatsWindow | Unset): `1h` (one-minute buckets) or `24h` (15-minute
            buckets), ending now Default: GetTenantStatsWindow.VALUE_0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TenantStats]
    """

    kwargs = _get_kwargs(
        window=window,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    window: GetTenantStatsWindow | Unset = GetTenantStatsWindow.VALUE_0,
) -> Problem | TenantStats | None:
    """The tenant's delivery statistics: all subscriptions together, and each one's totals

     Computed from the delivery records of every subscription of the tenant. At most 5000 delivery
    records are read (newest events first); beyond that `truncated` is true and the numbers cover the
    newest only. The bound is shared evenly by the subscriptions.

    Args:
        window (GetTenantStatsWindow | Unset): `1h` (one-minute buckets) or `24h` (15-minute
            buckets), ending now Default: GetTenantStatsWindow.VALUE_0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TenantStats
    """

    return sync_detailed(
        client=client,
        window=window,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    window: GetTenantStatsWindow | Unset = GetTenantStatsWindow.VALUE_0,
) -> Response[Problem | TenantStats]:
    """The tenant's delivery statistics: all subscriptions together, and each one's totals

     Computed from the delivery records of every subscription of the tenant. At most 5000 delivery
    records are read (newest events first); beyond that `truncated` is true and the numbers cover the
    newest only. The bound is shared evenly by the subscriptions.

    Args:
        window (GetTenantStatsWindow | Unset): `1h` (one-minute buckets) or `24h` (15-minute
            buckets), ending now Default: GetTenantStatsWindow.VALUE_0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | TenantStats]
    """

    kwargs = _get_kwargs(
        window=window,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    window: GetTenantStatsWindow | Unset = GetTenantStatsWindow.VALUE_0,
) -> Problem | TenantStats | None:
    """The tenant's delivery statistics: all subscriptions together, and each one's totals

     Computed from the delivery records of every subscription of the tenant. At most 5000 delivery
    records are read (newest events first); beyond that `truncated` is true and the numbers cover the
    newest only. The bound is shared evenly by the subscriptions.

    Args:
        window (GetTenantStatsWindow | Unset): `1h` (one-minute buckets) or `24h` (15-minute
            buckets), ending now Default: GetTenantStatsWindow.VALUE_0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | TenantStats
    """

    return (
        await asyncio_detailed(
            client=client,
            window=window,
        )
    ).parsed
