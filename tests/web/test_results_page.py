"""A completed analysis's page in Chromium: each script's timed structure and shot list, each hook's
effectiveness with its evidence, the winning hook patterns; all as the results API answers them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from tests.e2e.test_viral_analysis import COMPETITORS, STRATEGY, submit, wait_job
from tests.support.browser import browser_page

PARTS = ("hook", "problem", "solution", "call_to_action")
# Markup in what the creator typed reaches the scripts' text: the page must show it as text.
MARKED_UP = {**STRATEGY, "targetAudience": "Busy parents <b id='injected'>at home</b>"}


def clock(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


def span(start: int, end: int) -> str:
    return f"{clock(start)}\u2013{clock(end)}"  # an en dash, as the page writes a span


def number(value: float) -> str:
    """As Intl.NumberFormat("en") writes a number: grouped, at most three decimals, no trailing zeros."""
    return f"{round(value, 3):,.3f}".rstrip("0").rstrip(".")


def part_as_shown(name: str, part: dict[str, Any]) -> list[Any]:
    return [name, span(part["start_second"], part["end_second"]), part["text"]]


def shot_as_shown(shot: dict[str, Any]) -> list[Any]:
    timed = span(shot["start_second"], shot["end_second"])
    return [shot["shot"], timed, shot["description"], f'On screen: "{shot["on_screen_text"]}"']


async def completed_results(api: TestClient, session: str) -> dict[str, Any]:
    created = await submit(api, session, competitors=COMPETITORS[:3], content_strategy=MARKED_UP)
    await wait_job(api, session, "completed", timeout_s=90)
    resp = await api.get(f"/api/viral-analysis/{created['id']}/results")
    assert resp.status == 200, await resp.text()
    return (await resp.json())["data"]


async def test_results_show_each_script_as_timed_shots_and_each_hook_with_its_evidence(
    api: TestClient, analysis, sim, output_dir: Path
) -> None:
    results = await completed_results(api, "web-results")
    script, hook = results["complete_scripts"][0], results["generated_hooks"][0]
    pattern = results["profile_analysis"]["top_performing_patterns"][0]
    async with browser_page() as page:
        await page.goto(str(api.make_url("/?session=web-results")))
        await page.wait_for_selector("#scripts article .shots li")

        first = page.locator("#scripts article").first
        assert await first.locator("h4").text_content() == f"Script 1: {script['title']}"
        parts = await first.locator(".structure li").evaluate_all(
            """items => items.map(li => [li.dataset.part, li.querySelector('.timing').textContent,
                                         li.querySelector('.part-text').textContent])"""
        )
        breakdown = script["structure_breakdown"]
        assert parts == [part_as_shown(name, breakdown[name]) for name in PARTS]
        assert any("<b id='injected'>" in text for _, _, text in parts), parts
        assert await page.query_selector("#injected") is None

        shots = await first.locator(".shots li").evaluate_all(
            """items => items.map(li => [Number(li.dataset.shot), li.querySelector('.timing').textContent,
                                         li.querySelector('.description').textContent,
                                         li.querySelector('.on-screen').textContent])"""
        )
        expected = script["visual_suggestions"]
        assert shots == [shot_as_shown(s) for s in expected]
        # In order: each shot starts where the one before it ended, from 0:00 to the script's length.
        starts = [s["start_second"] for s in expected]
        assert starts == sorted(starts) and starts[0] == 0
        assert shots[-1][1].endswith(clock(script["estimated_duration_seconds"]))
        notes = await first.locator(".notes dd").all_text_contents()
        production = script["production_notes"]
        assert notes == [production["tone"], production["pacing"], production["emphasis"]]
        assert await first.locator(".key-messaging li").all_text_contents() == script["key_messaging"]
        assert await first.locator(".success-factors li").all_text_contents() == script["success_factors"]

        item = page.locator("#generated-hooks > li").first
        assert await item.get_attribute("data-hook-id") == hook["hook_id"]
        assert await item.locator(".hook-text").text_content() == hook["hook_text"]
        effectiveness = number(hook["estimated_effectiveness"])
        assert await item.locator(".effectiveness").text_content() == f"{effectiveness}/10 estimated"
        assert await item.locator(".pattern-rank").text_content() == f"pattern #{hook['pattern_rank']}"
        source = item.locator(".source")
        assert await source.locator("a").get_attribute("data-reel-id") == hook["source_reel_id"]
        assert f'"{hook["original_competitor_hook"]}"' in (await source.text_content() or "")
        evidence = item.locator("details.evidence")
        reel_ids = evidence.locator(".reel-ids .reel-id")
        assert not await reel_ids.first.is_visible()  # folded until asked for
        await evidence.locator("summary").click()
        assert await evidence.locator("summary").text_content() == f"Why {effectiveness}/10"
        assert await reel_ids.first.is_visible()
        given = hook["effectiveness_evidence"]
        assert await reel_ids.all_text_contents() == given["reel_ids"]
        assert await evidence.locator(".formula").text_content() == given["formula"]
        inputs = await evidence.locator(".inputs dt").evaluate_all("ts => ts.map(t => t.dataset.input)")
        assert inputs == list(given["inputs"])
        values = await evidence.locator(".inputs dd").all_text_contents()
        assert values == ["unknown" if v is None else number(v) for v in given["inputs"].values()]

        shown = page.locator("#hook-patterns > li").first
        assert await shown.get_attribute("data-rank") == str(pattern["rank"])
        won = await shown.locator(".pattern-won").text_content() or ""
        assert won.startswith(f"Wins at {pattern['competitors_won']} competitor")
        assert all(f"@{name}" in won for name in pattern["competitor_usernames"])
        evidence_reels = await shown.locator(".evidence-reels li").evaluate_all(
            "items => items.map(li => li.dataset.reelId)"
        )
        assert evidence_reels == [r["content_id"] for r in pattern["evidence"]]
        await shown.locator("summary").click()
        await page.screenshot(path=str(output_dir / "results-wide.png"), full_page=True)

        # On a phone's width nothing of the hooks, patterns or scripts runs off the side of the screen.
        await page.set_viewport_size({"width": 390, "height": 844})
        overflowing = await page.evaluate(
            """() => ['#generated-hooks', '#hook-patterns', '#scripts'].flatMap(sel =>
                 [...document.querySelectorAll(`${sel}, ${sel} *`)]
                   .filter(node => node.getBoundingClientRect().right > window.innerWidth + 1)
                   .map(node => `${sel} ${node.tagName}.${node.className}`))"""
        )
        await page.screenshot(path=str(output_dir / "results-phone.png"), full_page=True)
        assert overflowing == []
