"""The watchlist screen (/watchlist) and saving to boards, in Debian's Chromium against the running
gateway: a Discover card saved to a new board and found there, a creator watched and no longer watched,
an alert shown the moment the alerts service records it, and listed after."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from libs.events import NewEvent
from libs.events.catalog import OutlierDetected, alerts_stream
from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.support import feed_rows, infra
from tests.support.browser import browser_page, signed_in
from tests.support.runtime import running

USER = "creator"  # whom the page signs in as with the development token


async def test_a_discover_card_is_saved_to_a_new_board_and_found_on_the_board(
    api: TestClient, pool: asyncpg.Pool, output_dir: Path
) -> None:
    from playwright.async_api import expect

    creators, items = feed_rows.varied_set()
    await feed_rows.seed(pool, creators, items)
    async with browser_page() as page:
        await page.goto(str(api.make_url("/discover")))
        await signed_in(page)
        cards = page.locator("#feed li.reel-card")
        await expect(cards).to_have_count(24)
        first, second = cards.nth(0), cards.nth(1)
        first_id = await first.get_attribute("data-content-id")
        second_id = await second.get_attribute("data-content-id")
        dialog = page.locator("#save-dialog")

        # No board yet: the dialog offers a new one, named there.
        await first.locator("button.save").click()
        await expect(dialog).to_be_visible()
        await expect(page.locator("#save-new-name")).to_be_visible()
        await page.fill("#save-new-name", "Reels to remake")
        await page.fill("#save-note", "film this week")
        await page.screenshot(path=str(output_dir / "save-dialog.png"))
        await page.click("#save-submit")
        await expect(dialog).to_be_hidden()
        await expect(first.locator("button.save")).to_have_text("Saved to Reels to remake")

        # The next save goes to the board used last, without a name to type.
        await second.locator("button.save").click()
        await expect(page.locator("#save-board option:checked")).to_have_text("Reels to remake (1)")
        await expect(page.locator("#save-new-name")).to_be_hidden()
        await page.click("#save-submit")
        await expect(second.locator("button.save")).to_have_text("Saved to Reels to remake")

        # Saved again to the same board: refused in words, and the dialog stays for another choice.
        await first.locator("button.save").click()
        await expect(page.locator("#save-board option:checked")).to_have_text("Reels to remake (2)")
        await page.click("#save-submit")
        await expect(page.locator("#save-error")).to_contain_text("already holds")
        await page.click("#save-cancel")
        await expect(dialog).to_be_hidden()

        # On the watchlist screen: the board, its items as they are now, one removed, a download.
        await page.click("header a[href='/watchlist']")
        board = page.locator("#boards li", has_text="Reels to remake")
        await expect(board.locator(".board-count")).to_have_text("2 items")
        await board.locator("button.board-open").click()
        saved = page.locator("#board-items li.board-item")
        await expect(saved).to_have_count(2)
        assert await saved.evaluate_all("items => items.map(i => i.dataset.contentId)") == [
            first_id,
            second_id,
        ]
        reel = next(i for i in items if i.content_id == first_id)
        await expect(saved.nth(0)).to_contain_text(f"@{reel.creator.username}")
        await expect(saved.nth(0).locator(".note")).to_have_text("Note: film this week")
        await page.screenshot(path=str(output_dir / "board.png"), full_page=True)
        async with page.expect_download() as downloading:
            await page.click("#board button.export[data-format='csv']")
        download = await downloading.value
        assert download.suggested_filename.endswith(".csv"), download.suggested_filename
        exported = await asyncio.to_thread(Path(await download.path()).read_text)
        assert first_id in exported and second_id in exported and "film this week" in exported

        await saved.nth(0).locator("button.remove").click()
        await expect(saved).to_have_count(1)
        assert await saved.nth(0).get_attribute("data-content-id") == second_id
        await expect(board.locator(".board-count")).to_have_text("1 item")


async def test_the_watchlist_screen_watches_a_creator_refreshes_and_stops_watching(api: TestClient) -> None:
    from playwright.async_api import expect

    async with browser_page() as page:
        await page.goto(str(api.make_url("/watchlist")))
        await signed_in(page)
        await expect(page.locator("#watch-empty")).to_be_visible()

        await page.fill("#watch-username", "@Fit.Coach.Amy")
        await page.fill("#watch-threshold", "5")
        await page.click("#watch-submit")
        row = page.locator("#watch-table tbody tr[data-username='fit.coach.amy']")
        await expect(row.locator("td.threshold")).to_have_text("5x")
        await expect(page.locator("#watch-status")).to_have_text(
            "Watching @fit.coach.amy: alerts at 5x their median views."
        )
        await expect(page.locator("#watch-empty")).to_be_hidden()
        await page.fill("#watch-username", "not a name!")
        await page.click("#watch-submit")
        await expect(page.locator("#watch-error")).to_contain_text("Username")

        # The real refresh: requested (nothing fetches it here, so it stays queued), then skipped as
        # queued already, then refused by the rate limit (RATE_LIMIT_WATCH_REFRESHES 2/3600 here).
        await page.click("#refresh-now")
        await expect(page.locator("#refresh-status")).to_have_text("Fetching @fit.coach.amy again now.")
        await page.click("#refresh-now")
        await expect(page.locator("#refresh-status")).to_have_text(
            "Nobody to fetch again now. Already queued or being fetched: @fit.coach.amy."
        )
        await page.click("#refresh-now")
        refused = "Too many watchlist refreshes: at most 2 per 3600 s."
        await expect(page.locator("#refresh-error")).to_contain_text(refused)

        # The server's watchlist, not the page's: still there after a reload, then gone for good.
        await page.reload()
        await expect(row).to_have_count(1)
        await row.locator("button.stop").click()
        await expect(row).to_have_count(0)
        await expect(page.locator("#watch-empty")).to_be_visible()
        await page.reload()
        await expect(page.locator("#watch-empty")).to_be_visible()
        await expect(row).to_have_count(0)


def outlier(user: str, content_id: str) -> OutlierDetected:
    return OutlierDetected(
        user_id=user, username="fit.coach.amy", content_id=content_id, shortcode=f"C{content_id}",
        url=f"https://www.instagram.com/reel/C{content_id}/", view_count=412_000, outlier_score=8.25,
        threshold=3.0, median_views=49_939.0, date_posted=datetime.now(UTC) - timedelta(hours=5),
        description="Three moves for a stronger back", ingestion_event_id=str(uuid.uuid4()),
    )  # fmt: skip


async def test_an_alert_appears_in_the_feed_as_it_is_found_and_is_listed_after(
    api: TestClient,
    gateway_runtime: ServiceRuntime,
    gateway_settings: GatewaySettings,
    pool: asyncpg.Pool,
    aiohttp_client: Any,
    output_dir: Path,
) -> None:
    from playwright.async_api import expect

    # The alerts service's relay: what it appends reaches the gateway's live hub and the projector.
    alerts_service = ServiceRuntime("alerts", gateway_settings)
    mine, theirs = NewEvent(event=outlier(USER, "31415")), NewEvent(event=outlier("someone.else", "27182"))
    async with running(alerts_service), browser_page() as page:
        await page.goto(str(api.make_url("/watchlist")))
        await signed_in(page)
        await expect(page.locator("#alerts-mode")).to_have_text("live")
        await expect(page.locator("#alerts-empty")).to_be_visible()
        async with pool.acquire() as conn:  # another user's first: published before this user's
            await alerts_service.store.append(
                conn, alerts_stream("someone.else"), [theirs], expected_version=None
            )
            await alerts_service.store.append(conn, alerts_stream(USER), [mine], expected_version=None)

        alert = page.locator(f"#alerts li.alert[data-id='{mine.event_id}']")
        await expect(alert.locator(".alert-creator")).to_have_text("@fit.coach.amy")
        await expect(alert.locator(".alert-views")).to_have_text("412,000 views")
        await expect(alert.locator(".score")).to_have_text("8.25x their median")
        assert (
            await alert.locator("a.alert-link").get_attribute("href")
            == "https://www.instagram.com/reel/C31415/"
        )
        await expect(page.locator("#alerts li.alert")).to_have_count(1)
        await expect(page.locator("#alerts-empty")).to_be_hidden()
        await page.screenshot(path=str(output_dir / "alerts.png"), full_page=True)

        # Listed from the feed (GET /api/alerts) by a gateway that never saw it live.
        async def projected() -> bool:
            return await pool.fetchval("SELECT count(*) FROM readmodel.alerts") == 2

        await infra.eventually(projected, timeout_s=30, message="both alerts projected")
        other = await aiohttp_client(create_app(gateway_runtime, gateway_settings))
        await page.goto(str(other.make_url("/watchlist")))
        await signed_in(page)
        await expect(page.locator("#alerts li.alert .alert-creator")).to_have_text(["@fit.coach.amy"])
        await expect(page.locator(f"#alerts li.alert[data-id='{mine.event_id}'] .alert-views")).to_have_text(
            "412,000 views"
        )
