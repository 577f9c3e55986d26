import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.audit_page import AuditPage
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    action: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["action"] = action

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/audit",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> AuditPage | Problem | None:
    if response.status_code == 200:
        response_200 = AuditPage.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[AuditPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    action: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Response[AuditPage | Problem]:
    """Who changed what: the tenant's audit trail, newest first

     Each change to the tenant's subscriptions (create, update, delete, disable, enable, rotate-secret,
    replay, recover), API keys (create, revoke) and dead-lettered deliveries (redrive), with who made it
    (`actor`: the API key id, or `cli:<user>` for an operator's command), when, and the ids and status
    fields before and after (never a secret). Needs the `audit:read` scope (or `admin`). With `action`,
    a page may hold fewer than `limit` records while `next_cursor` is not null.

    Args:
        action (str | Unset): Only this action: `subscription.create`, `subscription.update`,
            `subscription.delete`, `subscription.enable`, `subscription.disable`,
            `subscription.rotate_secret`, `subscription.replay`, `subscription.recover`,
            `event_type.create`, `event_type.update`, `event_type.delete`, `delivery.redrive`,
            `api_key.create`, `api_key.revoke`, `limits.update`
        since (datetime.datetime | Unset): at or after (ISO 8601 with offset)
        until (datetime.datetime | Unset): at or before (ISO 8601 with offset)
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuditPage | Problem]
    """

    kwargs = _get_kwargs(
        action=action,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    action: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> AuditPage | Problem | None:
    """Who changed what: the tenant's audit trail, newest first

     Each change to the tenant's subscriptions (create, update, delete, disable, enable, rotate-secret,
    replay, recover), API keys (create, revoke) and dead-lettered deliveries (redrive), with who made it
    (`actor`: the API key id, or `cli:<user>` for an operator's command), when, and the ids and status
    fields before and after (never a secret). Needs the `audit:read` scope (or `admin`). With `action`,
    a page may hold fewer than `limit` records while `next_cursor` is not null.

    Args:
        action (str | Unset): Only this action: `subscription.create`, `subscription.update`,
            `subscription.delete`, `subscription.enable`, `subscription.disable`,
            `subscription.rotate_secret`, `subscription.replay`, `subscription.recover`,
            `event_type.create`, `event_type.update`, `event_type.delete`, `delivery.redrive`,
            `api_key.create`, `api_key.revoke`, `limits.update`
        since (datetime.datetime | Unset): at or after (ISO 8601 with offset)
        until (datetime.datetime | Unset): at or before (ISO 8601 with offset)
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuditPage | Problem
    """

    return sync_detailed(
        client=client,
        action=action,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    action: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> Response[AuditPage | Problem]:
    """Who changed what: the tenant's audit trail, newest first

     Each change to the tenant's subscriptions (create, update, delete, disable, enable, rotate-secret,
    replay, recover), API keys (create, revoke) and dead-lettered deliveries (redrive), with who made it
    (`actor`: the API key id, or `cli:<user>` for an operator's command), when, and the ids and status
    fields before and after (never a secret). Needs the `audit:read` scope (or `admin`). With `action`,
    a page may hold fewer than `limit` records while `next_cursor` is not null.

    Args:
        action (str | Unset): Only this action: `subscription.create`, `subscription.update`,
            `subscription.delete`, `subscription.enable`, `subscription.disable`,
            `subscription.rotate_secret`, `subscription.replay`, `subscription.recover`,
            `event_type.create`, `event_type.update`, `event_type.delete`, `delivery.redrive`,
            `api_key.create`, `api_key.revoke`, `limits.update`
        since (datetime.datetime | Unset): at or after (ISO 8601 with offset)
        until (datetime.datetime | Unset): at or before (ISO 8601 with offset)
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuditPage | Problem]
    """

    kwargs = _get_kwargs(
        action=action,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    action: str | Unset = UNSET,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    limit: int | Unset = 50,
    cursor: str | Unset = UNSET,
) -> AuditPage | Problem | None:
    """Who changed what: the tenant's audit trail, newest first

     Each change to the tenant's subscriptions (create, update, delete, disable, enable, rotate-secret,
    replay, recover), API keys (create, revoke) and dead-lettered deliveries (redrive), with who made it
    (`actor`: the API key id, or `cli:<user>` for an operator's command), when, and the ids and status
    fields before and after (never a secret). Needs the `audit:read` scope (or `admin`). With `action`,
    a page may hold fewer than `limit` records while `next_cursor` is not null.

    Args:
        action (str | Unset): Only this action: `subscription.create`, `subscription.update`,
            `subscription.delete`, `subscription.enable`, `subscription.disable`,
            `subscription.rotate_secret`, `subscription.replay`, `subscription.recover`,
            `event_type.create`, `event_type.update`, `event_type.delete`, `delivery.redrive`,
            `api_key.create`, `api_key.revoke`, `limits.update`
        since (datetime.datetime | Unset): at or after (ISO 8601 with offset)
        until (datetime.datetime | Unset): at or before (ISO 8601 with offset)
        limit (int | Unset):  Default: 50.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuditPage | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            action=action,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
