"""services/projector/statements.py: a batch's statements sent together, each stream's events in order
(waves) and each event's statements in order, the same statement of many events sent once."""

from typing import Any

from services.projector.statements import Recorder, columnar, joined, send, waves


class Connection:
    """Takes down what is sent, as asyncpg would run it: one call per statement sent."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[Any, ...]]]] = []

    async def execute(self, sql: str, *args: Any) -> str:
        self.calls.append((sql, [args]))
        return ""

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.calls.append((sql, list(rows)))


def test_waves_hold_each_streams_kth_event_in_batch_order() -> None:
    assert waves(["a", "a", "b", "a", "c", "b"]) == [[0, 2, 4], [1, 5], [3]]
    assert waves([]) == []


async def test_the_same_statement_of_many_events_goes_once_with_each_events_arguments_in_order() -> None:
    recorder = Recorder()
    for n in range(3):
        recorder.begin()
        await recorder.execute("UPDATE queue", n)
        await recorder.execute("UPSERT profile", n)
        await recorder.executemany("INSERT similar", [(n, 1), (n, 2)])
    conn = Connection()
    assert await send(conn, recorder) == 3  # type: ignore[arg-type]
    assert conn.calls == [
        ("UPDATE queue", [(0,), (1,), (2,)]),
        ("UPSERT profile", [(0,), (1,), (2,)]),
        ("INSERT similar", [(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2)]),
    ]


async def test_each_events_statements_keep_their_order_when_events_differ() -> None:
    recorder = Recorder()
    recorder.begin()  # an ingestion with reels
    for sql in ("queue", "profile", "content", "delete similar", "insert similar"):
        await recorder.execute(sql, "a")
    recorder.begin()  # one without: no content statement
    for sql in ("queue", "profile", "delete similar", "insert similar"):
        await recorder.execute(sql, "b")
    recorder.begin()  # another kind of event altogether
    await recorder.execute("crawl", "c")
    await recorder.executemany("nothing", [])  # no rows: nothing to send
    conn = Connection()
    await send(conn, recorder)  # type: ignore[arg-type]
    for name in "abc":
        mine = [sql for sql, rows in conn.calls for row in rows if row == (name,)]
        expected = {
            "a": ["queue", "profile", "content", "delete similar", "insert similar"],
            "b": ["queue", "profile", "delete similar", "insert similar"],
            "c": ["crawl"],
        }[name]
        assert mine == expected
    assert [sql for sql, _ in conn.calls].count("delete similar") == 1
    assert "nothing" not in [sql for sql, _ in conn.calls]


async def test_a_columnar_statement_of_many_events_goes_once_with_their_arrays_joined() -> None:
    sql = columnar("UPSERT many", key=0)
    recorder = Recorder()
    for keys, at in ((["a", "b"], "t1"), (["c"], "t2"), (["d"], "t3")):
        recorder.begin()
        await recorder.execute(sql, keys, [at] * len(keys), "same")
    conn = Connection()
    await send(conn, recorder)  # type: ignore[arg-type]
    assert conn.calls == [(sql, [(["a", "b", "c", "d"], ["t1", "t1", "t2", "t3"], "same")])]


def test_calls_naming_a_key_again_or_other_scalars_start_another_statement_in_order() -> None:
    sql = columnar("UPSERT keyed", key=0)
    calls = [(["a"], 1, "x"), (["b"], 2, "x"), (["a"], 3, "x"), (["c"], 4, "y"), (["d"], 5, "y")]
    assert joined(sql, [(k, [n], s) for k, n, s in calls]) == [
        (["a", "b"], [1, 2], "x"),  # "a" again: its second write goes after its first
        (["a"], [3], "x"),
        (["c", "d"], [4, 5], "y"),  # another scalar: another statement
    ]
    anywhere = columnar("UPDATE by any", key=None)  # rows written the same whoever names them
    assert joined(anywhere, [(["a"], "p"), (["a", "b"], "p")]) == [(["a", "a", "b"], "p")]
