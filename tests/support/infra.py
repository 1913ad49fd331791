"""Isolated databases and RabbitMQ vhosts for tests, so they run beside `make run` and each other."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import asyncpg

from libs.events.topology import message_count

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_BASE_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def unique(prefix: str) -> str:
    """prefix_<pid>_<unix time>_<random>: who made it and when, so abandoned ones can be swept."""
    return f"{prefix}_{os.getpid()}_{int(time.time())}_{secrets.token_hex(3)}"


# Databases and vhosts of test and bench runs that were killed before their own clean-up.
_OURS = re.compile(r"^vs_(?:t|tmpl|test|bench)_(\d+)_(\d{10})_[0-9a-f]{6}$")
ABANDONED_AFTER_S = 3 * 3600  # longer than any run (CI stops at 90 minutes)


def _abandoned(name: str, now: float) -> bool:
    match = _OURS.match(name)
    if match is None or now - int(match.group(2)) < ABANDONED_AFTER_S:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False  # its process still runs (or its pid was reused): leave it


async def sweep_abandoned() -> list[str]:
    """Drop what killed runs left behind: named by us, older than any run, its process gone."""
    now = time.time()
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        names = [r["datname"] for r in await admin.fetch("SELECT datname FROM pg_database")]
    finally:
        await admin.close()
    swept = [name for name in names if _abandoned(name, now)]
    for name in swept:
        await drop_database(name)
    if shutil.which("rabbitmqctl") is not None:
        listed = await asyncio.to_thread(_rabbitmqctl, "list_vhosts", "-q", "--no-table-headers")
        for vhost in listed.stdout.split():
            if _abandoned(vhost, now):
                await asyncio.to_thread(delete_vhost, vhost)
                swept.append(vhost)
    return swept


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(PG_ADMIN_URL)._replace(path=f"/{name}"))


async def create_database(name: str, template: str | None = None) -> str:
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        clause = f' TEMPLATE "{template}"' if template else ""
        await admin.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await admin.close()
    return database_url(name)


async def drop_database(name: str) -> None:
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _rabbitmqctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=120, check=False)


def create_vhost(name: str) -> str:
    """A vhost of our own when rabbitmqctl is usable; else the default vhost (names stay unique)."""
    if shutil.which("rabbitmqctl") is None or _rabbitmqctl("add_vhost", name).returncode != 0:
        return AMQP_BASE_URL
    _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    return urlunsplit(urlsplit(AMQP_BASE_URL)._replace(path="/" + quote(name, safe="")))


def delete_vhost(name: str) -> None:
    if shutil.which("rabbitmqctl") is not None:
        _rabbitmqctl("delete_vhost", name)


async def restart_broker(down_s: float = 1.0) -> None:
    """Stop and start the RabbitMQ application (durable queues and persistent messages survive)."""
    for args in (("stop_app",), ("start_app",)):
        result = await asyncio.to_thread(_rabbitmqctl, *args)
        assert result.returncode == 0, result.stderr
        if args == ("stop_app",):
            await asyncio.sleep(down_s)
    await wait_for_broker()


async def wait_for_broker(timeout_s: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            conn = await aio_pika.connect(AMQP_BASE_URL)
            await conn.close()
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def queue_depth(channel: aio_pika.abc.AbstractChannel, name: str) -> int:
    return await message_count(channel, name)


async def eventually(check, timeout_s: float = 30.0, interval_s: float = 0.05, message: str = ""):  # type: ignore[no-untyped-def]
    """Poll an async predicate until it returns a truthy value; fail with `message` on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    last = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s: {message} (last value: {last!r})")


def port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def broker_max_message_size(size: int) -> AsyncIterator[None]:
    """RabbitMQ refuses larger messages on channels opened meanwhile (the node's setting, restored)."""
    before = await asyncio.to_thread(_rabbitmqctl, "eval", "application:get_env(rabbit, max_message_size).")
    match = re.search(r"\d+", before.stdout)
    assert match, before.stdout
    await _set_env("max_message_size", size)
    try:
        yield
    finally:
        await _set_env("max_message_size", int(match.group(0)))


async def _set_env(key: str, value: int) -> None:
    result = await asyncio.to_thread(_rabbitmqctl, "eval", f"application:set_env(rabbit, {key}, {value}).")
    assert result.returncode == 0, result.stderr


@contextlib.asynccontextmanager
async def memory_alarm() -> AsyncIterator[None]:
    """A memory alarm: the broker keeps connections open but stops reading from publishers."""
    before = await asyncio.to_thread(
        _rabbitmqctl, "eval", "vm_memory_monitor:get_vm_memory_high_watermark()."
    )
    watermark = before.stdout.strip()
    assert re.fullmatch(r"[0-9.]+", watermark), f"cannot restore a watermark of {watermark!r}"
    result = await asyncio.to_thread(_rabbitmqctl, "set_vm_memory_high_watermark", "0")
    assert result.returncode == 0, result.stderr
    try:
        yield
    finally:
        result = await asyncio.to_thread(_rabbitmqctl, "set_vm_memory_high_watermark", watermark)
        assert result.returncode == 0, result.stderr
