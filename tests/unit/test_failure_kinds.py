"""Which failures are an outage (wait, keep the retries), permanent (dead-letter now) or worth a retry."""

import asyncpg
import pydantic
import pytest

from libs.events.db import is_database_outage, is_permanent_error, is_transient_database_error
from libs.events.store import UnpublishableEvent


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        OSError(113, "No route to host"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.InterfaceError("cannot call Transaction.__aexit__(): the underlying connection is closed"),
        asyncpg.InterfaceError("pool is closing"),
        asyncpg.InternalClientError("not connected"),
    ],
)
def test_lost_connections_are_outages(exc: BaseException) -> None:
    assert is_database_outage(exc) and not is_permanent_error(exc)


def _validation_error() -> pydantic.ValidationError:
    try:
        pydantic.TypeAdapter(int).validate_python("x")
    except pydantic.ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.DataError("invalid input syntax"),
        asyncpg.DivisionByZeroError("division by zero"),
        asyncpg.UndefinedColumnError("column x does not exist"),
        asyncpg.NotNullViolationError("null value"),
        _validation_error(),
        UnpublishableEvent("too large"),
        KeyError("queue_id"),
        TypeError("unsupported operand"),
    ],
)
def test_bad_data_and_bugs_are_permanent(exc: BaseException) -> None:
    assert is_permanent_error(exc) and not is_database_outage(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.SerializationError("could not serialize access"),
        asyncpg.DeadlockDetectedError("deadlock detected"),
        RuntimeError("something else"),
    ],
)
def test_the_rest_is_worth_a_retry(exc: BaseException) -> None:
    assert not is_database_outage(exc) and not is_permanent_error(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        asyncpg.SerializationError("could not serialize access"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    ],
)
def test_what_a_resent_request_may_get_past_is_transient_for_a_client(exc: BaseException) -> None:
    assert is_transient_database_error(exc)


def test_bad_data_is_not_transient_for_a_client() -> None:
    assert not is_transient_database_error(asyncpg.DataError("invalid input syntax"))
