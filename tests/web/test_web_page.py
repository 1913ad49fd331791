"""The web page in Debian's Chromium, driven by Playwright, against the running system and simulator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from libs.runtime import ServiceRuntime
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from tests.support import feed_rows
from tests.support.browser import browser_page


async def test_page_follows_an_analysis_live_and_shows_its_results(
    api: TestClient, analysis, sim, output_dir: Path, pool: asyncpg.Pool
) -> None:
    from playwright.async_api import expect

    await sim.control("config", {"latency_ms": 150})  # slow enough to watch the steps go by
    base = str(api.make_url("/"))
    async with browser_page() as page:
        await page.goto(base)
        await page.evaluate("window.notReloaded = true")
        # Every step the page marks current, recorded in the page as it happens: sampling from here
        # misses steps a fast run (or a busy machine) shows for less than a sampling interval.
        await page.evaluate(
            """() => {
              window.stepsSeen = [];
              const steps = document.getElementById("steps");
              new MutationObserver(() => {
                const current = steps.querySelector("li.current");
                if (current && !window.stepsSeen.includes(current.dataset.step)) {
                  window.stepsSeen.push(current.dataset.step);
                }
              }).observe(steps, { subtree: true, childList: true, attributes: true });
            }"""
        )
        # Signed in with the development token, as `make run` serves the page.
        await page.wait_for_function(
            "() => document.getElementById('account-status').textContent.startsWith('Signed in')"
        )
        assert await page.text_content("#account-status") == "Signed in as creator"

        # A bad username is explained in words, not in codes.
        await page.fill("#profile-username", "not a name!")
        await page.click("#profile-form button")
        await page.wait_for_function("document.getElementById('profile-status').textContent.length > 0")
        assert "Instagram username" in await page.text_content("#profile-status")

        await page.fill("#primary-username", "@FitWithMaya")
        await page.fill("#competitors", "fit.coach.amy, gym.bro.max\nyoga.with.lin")
        await page.fill("#content-type", "Fitness tips and home workouts")
        await page.fill("#target-audience", "Busy parents <script>alert(1)</script>")
        await page.fill("#goals", "Grow followers")
        await page.click("#analysis-submit")

        seen: list[int] = []
        modes: set[str] = set()
        steps: set[str] = set()
        async with asyncio.timeout(120):
            while not await page.is_visible("#results-section"):
                value = int(await page.get_attribute("#progress-value", "data-value") or 0)
                if not seen or seen[-1] != value:
                    seen.append(value)
                modes.add(await page.text_content("#connection-mode") or "")
                current = await page.query_selector("#steps li.current")
                if current is not None:
                    steps.add(await current.get_attribute("data-step") or "")
                await asyncio.sleep(0.05)
            await page.wait_for_selector("#generated-hooks li")
        # The last value may have come with the results, between the loop's sample and its check.
        final = int(await page.get_attribute("#progress-value", "data-value") or 0)
        if seen[-1] != final:
            seen.append(final)
        assert await page.evaluate("window.notReloaded") is True, "the page reloaded"
        assert "live" in modes, f"progress came by polling, not by the event stream: {modes}"
        assert len(seen) >= 4 and seen == sorted(seen) and seen[-1] == 100, seen
        steps |= set(await page.evaluate("() => window.stepsSeen"))
        assert len(steps) >= 3, steps
        assert await page.text_content("#job-status") == "completed"
        competitor_rows = await page.query_selector_all("#competitor-table tbody tr")
        assert len(competitor_rows) == 3
        assert len(await page.query_selector_all("#generated-hooks li")) == 5
        assert len(await page.query_selector_all("#scripts article")) == 5
        assert len(await page.query_selector_all("#chart svg rect.bar")) >= 1
        assert await page.query_selector("#chart svg line.median") is not None
        assert "x" in (await page.text_content("#reels-table tbody tr td.num:nth-child(4)") or "")
        await page.screenshot(path=str(output_dir / "analysis-results.png"), full_page=True)
        # A hook and a script of the results, saved to a board made on the way.
        hook_save = page.locator("#generated-hooks li:nth-child(2) button.save")
        await hook_save.click()
        await page.fill("#save-new-name", "Hooks to film")
        await page.click("#save-submit")
        await expect(hook_save).to_have_text("Saved to Hooks to film")
        script_save = page.locator("#scripts article:nth-child(1) button.save")
        await script_save.click()
        await expect(page.locator("#save-board option:checked")).to_have_text("Hooks to film (1)")
        await page.click("#save-submit")
        await expect(script_save).to_have_text("Saved to Hooks to film")
        saved = await pool.fetch(
            """SELECT i.kind, i.analysis_run, i.item_index FROM gateway.board_items i
               JOIN gateway.boards b ON b.id = i.board_id
               WHERE b.owner_id = 'creator' AND b.name = 'Hooks to film' ORDER BY i.added_at"""
        )
        assert [tuple(r) for r in saved] == [("hook", 1, 2), ("script", 1, 1)]
        # The job is the signed-in user's: recorded so, and not found by anyone else.
        requested = await pool.fetchrow(
            "SELECT payload FROM eventstore.events WHERE event_type = 'AnalysisRequested'"
        )
        assert requested["payload"]["user_id"] == "creator"
        session = requested["payload"]["session_id"]
        assert (await api.get(f"/api/viral-ideas/queue/{session}")).status == 404
        # Reloaded, the page keeps its token and follows the job it links to.
        await page.goto(f"{base}?session={session}")
        await page.wait_for_selector("#generated-hooks li")
        assert await page.text_content("#account-status") == "Signed in as creator"
        await page.click("#sign-out")
        assert "anonymous" in (await page.text_content("#account-status") or "")


async def test_discover_view_filters_scrolls_on_the_cursor_and_links_to_analysis(
    api: TestClient, pool, output_dir: Path
) -> None:
    creators, items = feed_rows.varied_set()
    await feed_rows.seed(pool, creators, items)
    reels = {item.content_id for item in items if item.post_type == "reel"}
    fitness = {
        i.content_id for i in items if i.post_type == "reel" and i.creator.primary_category == "fitness"
    }
    async with browser_page() as page:
        await page.goto(str(api.make_url("/discover")))

        # The first page, then the rest as the reader scrolls: every reel once, then the end.
        await page.wait_for_selector("#feed li.reel-card")
        assert len(await page.query_selector_all("#feed li.reel-card")) == 24
        await scroll_to_the_end(page)
        shown = await shown_reels(page)
        assert len(shown) == len(set(shown)) and set(shown) == reels

        # The niche list counts what the feed holds; choosing one keeps only its creators' reels.
        options = await page.eval_on_selector_all("#feed-category option", "os => os.map(o => o.value)")
        assert set(options) >= {"", "fitness", "finance"}, options
        await page.select_option("#feed-category", "fitness")
        await page.select_option("#feed-sort", "views")
        await page.click("#feed-apply")
        await scroll_to_the_end(page)
        categories = await page.eval_on_selector_all(
            "#feed li.reel-card", "cs => cs.map(c => c.dataset.category)"
        )
        shown = await shown_reels(page)
        assert set(categories) == {"fitness"} and sorted(shown) == sorted(fitness)
        await page.screenshot(path=str(output_dir / "discover.png"), full_page=False)

        # A refused filter is explained, not shown as an empty feed.
        await page.fill("#feed-min-outlier", "-1")
        await page.click("#feed-apply")
        await page.wait_for_selector("#feed-error:not([hidden])")
        assert "min_outlier_score" in (await page.text_content("#feed-error") or "")

        # Each card's link opens the analysis form with its creator filled in.
        await page.fill("#feed-min-outlier", "")
        await page.click("#feed-apply")
        await page.wait_for_selector("#feed li.reel-card a.analyse")
        link = await page.get_attribute("#feed li.reel-card a.analyse", "href")
        username = link.split("primary=", 1)[1]
        await page.click("#feed li.reel-card a.analyse")
        await page.wait_for_selector("#primary-username")
        assert await page.input_value("#primary-username") == username


async def scroll_to_the_end(page: Any) -> None:
    """Scrolls the feed until it says it has shown every reel."""
    async with asyncio.timeout(30):
        while not await page.is_visible("#feed-end"):
            await page.mouse.wheel(0, 4000)
            await asyncio.sleep(0.05)


async def shown_reels(page: Any) -> list[str]:
    return await page.eval_on_selector_all(
        "#feed li.reel-card", "cards => cards.map(c => c.dataset.contentId)"
    )


async def test_without_the_development_sign_in_the_page_goes_on_anonymously(
    gateway_runtime: ServiceRuntime, gateway_settings: GatewaySettings, aiohttp_client: Any
) -> None:
    production = gateway_settings.model_copy(update={"auth_dev_login": False})
    client = await aiohttp_client(create_app(gateway_runtime, production))
    async with browser_page() as page:
        await page.goto(str(client.make_url("/")))
        await page.wait_for_function(
            "() => document.getElementById('account-status').textContent.startsWith('Anonymous')"
        )
        assert await page.is_hidden("#sign-in-form") and await page.is_hidden("#sign-out")
        await page.fill("#profile-username", "fitwithmaya")
        await page.click("#profile-form button")
        await page.wait_for_function(
            "() => document.getElementById('profile-status').textContent.includes('fitwithmaya')"
        )
