"""The projector's pure decisions: which content rows a batch can change, how a batch is applied (a
creator's ingestion carrying the categorisations after it), and the content rows a snapshot writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from libs.events import Envelope
from libs.events.catalog import ContentFetched, Event, ProfileRequested, analysis_stream, profile_stream
from services.projector.domain import (
    CONTENT_COLUMNS,
    Step,
    TouchedContent,
    content_rows,
    plan_batch,
    touched_content,
)
from tests.support.projector import categories, creator_categorised, ingested, post, reel, reels_categorised

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def envelope(event: Event, at: datetime = T0, stream: str | None = None, version: int = 1) -> Envelope:
    return Envelope(
        event_id=uuid.uuid4(),
        event_type=event.event_type,
        occurred_at=at,
        producer="test",
        stream_id=stream or profile_stream(event.username),  # type: ignore[attr-defined]
        stream_version=version,
        correlation_id=uuid.uuid4(),
        payload=event.model_dump(mode="json"),
    )


def test_a_batch_touches_the_creators_it_names_and_the_items_it_writes_or_files() -> None:
    batch = [
        envelope(ingested("maya", [reel("1", 10)], [post("2", likes=3)])),
        envelope(creator_categorised("noa", "travel")),
        envelope(reels_categorised("amy", categories("7", "fitness"))),
        envelope(
            ContentFetched(queue_id="q", run=1, username="leo", profile_type="primary", reels=[reel("9", 1)]),
            stream=analysis_stream("q"),
        ),
    ]
    assert touched_content(batch) == TouchedContent(
        usernames=("amy", "leo", "maya", "noa"), content_ids=("1", "2", "7", "9"), profiles=("maya", "noa")
    )


def test_events_that_write_no_content_touch_nothing() -> None:
    requested = ProfileRequested(username="maya", source="user", priority="HIGH", request_id="0000000a")
    assert not touched_content([])
    assert not touched_content([envelope(requested)])


def test_an_ingestion_carries_the_categorisations_that_follow_it_on_its_stream() -> None:
    batch = [
        envelope(reels_categorised("maya", categories("1", "comedy"))),  # before it: filed where it stands
        envelope(ingested("maya", [reel("1", 10), reel("2", 20)], [post("3", likes=1)])),
        envelope(creator_categorised("noa", "travel")),  # another creator's
        envelope(creator_categorised("maya", "fitness")),
        envelope(
            reels_categorised(
                "maya", categories("1", "fitness"), categories("3", "art"), categories("404", "art")
            )
        ),
    ]
    steps = plan_batch(batch)
    assert [s.envelope for s in steps] == batch
    assert steps[0] == Step(batch[0]) and steps[2] == Step(batch[2])
    ahead = steps[1].ahead
    assert ahead is not None and ahead.creator == (batch[3],)
    assert {cid: (entry["category"], at) for cid, (entry, at) in ahead.reels.items()} == {
        "1": ("fitness", T0),
        "3": ("art", T0),
    }
    # Applied by the ingestion already: the creator's categorisation, and the reels it wrote.
    assert steps[3].done
    assert [r["content_id"] for r in steps[4].reels or ()] == ["404"] and not steps[4].done


def test_of_several_categorisations_ahead_the_newest_stands_and_of_equals_the_later() -> None:
    later = T0 + timedelta(minutes=1)
    batch = [
        envelope(ingested("maya", [reel("1", 10), reel("2", 20)])),
        envelope(reels_categorised("maya", categories("1", "fitness"), categories("2", "tech")), at=later),
        envelope(reels_categorised("maya", categories("1", "comedy")), at=T0),  # older, arriving later
        envelope(reels_categorised("maya", categories("2", "music")), at=later),  # as new: applied later
    ]
    steps = plan_batch(batch)
    ahead = steps[0].ahead
    assert ahead is not None
    assert {cid: entry["category"] for cid, (entry, _) in ahead.reels.items()} == {
        "1": "fitness",
        "2": "music",
    }
    assert all(step.done for step in steps[1:])


def test_categorisations_without_an_ingestion_before_them_in_the_batch_are_applied_as_they_come() -> None:
    batch = [
        envelope(creator_categorised("maya", "fitness")),
        envelope(reels_categorised("maya", categories("1", "fitness"))),
        envelope(ingested("noa", [reel("1", 10)])),  # another stream's ingestion
    ]
    assert plan_batch(batch) == [Step(e) for e in batch]


def test_an_ingestion_with_nothing_after_it_is_applied_as_it_comes() -> None:
    batch = [envelope(ingested("maya", [reel("1", 10)]))]
    assert plan_batch(batch) == [Step(batch[0])]


def test_posts_are_written_without_views_and_engaged_over_the_followers() -> None:
    rows = content_rows(
        [reel("1", 500).model_dump(mode="json")],
        [post("2", likes=30, comments=10, carousel=3).model_dump(mode="json")],
        followers=800,
    )
    values = {row.content_id: dict(zip(CONTENT_COLUMNS, row.values, strict=True)) for row in rows}
    assert values["1"]["post_type"] == "reel" and values["1"]["view_count"] == 500
    assert values["1"]["carousel_count"] is None
    assert values["2"]["post_type"] == "carousel" and values["2"]["view_count"] is None
    assert values["2"]["engagement_rate"] == 5.0 and values["2"]["carousel_count"] == 3
    assert values["1"]["date_posted"] == values["2"]["date_posted"] == datetime(2026, 4, 10, 12, tzinfo=UTC)


def test_a_post_of_a_creator_without_followers_has_no_engagement() -> None:
    (row,) = content_rows([], [post("2", likes=30).model_dump(mode="json")], followers=0)
    assert dict(zip(CONTENT_COLUMNS, row.values, strict=True))["engagement_rate"] == 0.0


def test_an_item_named_twice_is_written_once_with_the_later_values_and_a_transcript_kept() -> None:
    first = reel("1", 10, transcript="spoken words").model_dump(mode="json")
    again = reel("1", 99).model_dump(mode="json")
    (row,) = content_rows([first, again])
    assert dict(zip(CONTENT_COLUMNS, row.values, strict=True))["view_count"] == 99
    assert row.transcript == "spoken words"
