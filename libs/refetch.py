"""A profile fetched again on purpose (a watched creator's scheduled refresh, a user's "refresh now"):
one ProfileRequested, unless a request is already queued or running, in which case that fetch serves.
Shared by the alerts service and the gateway so both decide alike."""

from __future__ import annotations

import secrets

import asyncpg

from libs.events import EventStore, NewEvent, WrongExpectedVersion
from libs.events.catalog import Priority, ProfileRequested, profile_stream
from libs.profiles import NOT_FOLDED, fold


async def request_refetch(
    store: EventStore, conn: asyncpg.Connection, username: str, *, source: str, priority: Priority
) -> bool:
    """True when a request was appended. Freshness is not asked: the caller wants the creator's
    newest reels, which is the point of a refresh."""
    stream = profile_stream(username)
    profile = fold(await store.read_stream(conn, stream, without=NOT_FOLDED))
    if profile.active:
        return False
    event = ProfileRequested(
        username=username, source=source, priority=priority, request_id=secrets.token_hex(4)
    )
    try:
        async with conn.transaction():  # a savepoint: a concurrent request spoils only this one
            await store.append(conn, stream, [NewEvent(event=event)], expected_version=profile.version)
    except WrongExpectedVersion:
        return False  # someone asked for it meanwhile: that fetch serves
    return True
