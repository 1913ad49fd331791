"""A hand-written analysis input: a sourdough baker, three competitors' top reels, real-sounding speech."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from libs.analysis import AnalysisInput, CompetitorInput, ContentStrategy, ProfileInput, ReelInput

GENERATED_AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

BAKER_STRATEGY = ContentStrategy(
    contentType="Sourdough baking, gluten free bread",
    targetAudience="Beginner home bakers",
    goals="Grow followers and sell my online baking course",
    additionalNotes="Keep it practical, no fancy equipment",
)
PARENT_STRATEGY = ContentStrategy(
    contentType="Quick breakfasts, lunchbox ideas",
    targetAudience="Busy parents",
    goals="Build brand awareness",
)


def reel(
    username: str, number: int, outlier: float, views: int, caption: str, transcript: str | None
) -> ReelInput:
    code = f"{username[:4]}{number:03d}"
    return ReelInput(
        content_id=f"{username}-{number}",
        shortcode=code,
        url=f"https://www.instagram.com/reel/{code}/",
        username=username,
        caption=caption,
        transcript=transcript,
        view_count=views,
        like_count=views // 20,
        comment_count=views // 400,
        outlier_score=outlier,
        engagement_rate=5.25,
        date_posted=datetime(2026, 2, number % 28 + 1, tzinfo=UTC),
    )


PRIMARY_REELS = [
    reel(
        "breadbyines",
        1,
        1.4,
        8_200,
        "My weekend sourdough loaf, start to finish. #sourdough #bread #baking",
        "This is my weekend sourdough loaf. I feed the starter on Friday night. "
        "The dough rests in the fridge overnight so the flavour gets deeper. Follow for more sourdough.",
    ),
    reel(
        "breadbyines",
        2,
        0.9,
        5_100,
        "Sourdough starter day 3, bubbles everywhere #sourdoughstarter",
        "Day three of the sourdough starter and look at those bubbles. "
        "Feed it equal parts flour and water by weight every morning.",
    ),
    reel(
        "breadbyines",
        3,
        3.2,
        19_000,
        "Why is my sourdough so flat? Let's fix it. #sourdough",
        "Why is my sourdough so flat? Usually the starter was not ready. "
        "Wait until it doubles and smells sweet, then mix the dough. Save this for your next bake.",
    ),
    reel("breadbyines", 4, 0.7, 4_300, "Scoring patterns I love 🍞 #breadscoring", None),
]

COMPETITORS = [
    CompetitorInput(
        profile=ProfileInput(
            username="glutenfree.gina",
            profile_name="Gina | Gluten free baking",
            bio="Gluten free bread that actually tastes like bread.",
            followers=184_000,
            median_views=21_000,
            mean_views=35_500,
            engagement_rate=6.1,
            total_reels=140,
        ),
        reels=[
            reel(
                "glutenfree.gina",
                1,
                12.4,
                260_000,
                "Stop buying gluten free bread. Make this instead. #glutenfree",
                "Stop buying gluten free bread. It costs a fortune and tastes like cardboard. "
                "Mix psyllium husk with warm water and let it gel for ten minutes. "
                "Use a blend of brown rice flour and tapioca starch for a soft crumb. "
                "Bake it covered for the first half so the crust does not crack. "
                "Comment BREAD and I'll send you the recipe.",
            ),
            reel(
                "glutenfree.gina",
                2,
                6.8,
                143_000,
                "3 gluten free bread mistakes that make it gummy",
                "3 gluten free bread mistakes that make your loaf gummy. "
                "Cutting it warm is the first one, let it cool for two hours. "
                "Too much water is the second, weigh your psyllium husk gel. "
                "Underbaking is the third, bake until the inside reads 98 degrees.",
            ),
            reel(
                "glutenfree.gina",
                3,
                4.1,
                86_000,
                "Gluten free focaccia in one bowl #glutenfreebaking",
                None,
            ),
        ],
    ),
    CompetitorInput(
        profile=ProfileInput(
            username="crumbcoach",
            profile_name="Crumb Coach",
            bio="Teaching beginners to bake bread without the stress.",
            followers=92_000,
            median_views=9_800,
            mean_views=14_000,
            engagement_rate=4.4,
            total_reels=88,
        ),
        reels=[
            reel(
                "crumbcoach",
                1,
                9.7,
                95_000,
                "How to shape a loaf that holds its shape #breadshaping",
                "Here's how to shape a loaf that actually holds its shape. "
                "Pre shape the dough into a loose round and let it rest twenty minutes. "
                "Build surface tension by dragging the dough towards you on a dry counter. "
                "Proof it seam side up in a floured banneton. Follow for more bread shaping.",
            ),
            reel(
                "crumbcoach",
                2,
                5.3,
                52_000,
                "I baked bread every day for 30 days",
                "I baked bread every day for 30 days and here's what happened. "
                "My shaping got better after the first week of daily practice. "
                "Cold retard overnight made scoring much easier. "
                "Dough temperature mattered more than any recipe.",
            ),
        ],
    ),
    CompetitorInput(
        profile=ProfileInput(
            username="the.bagel.lab",
            profile_name="The Bagel Lab",
            bio="Bagels, pretzels and everything boiled.",
            followers=310_000,
            median_views=40_000,
            mean_views=61_000,
            engagement_rate=3.9,
            total_reels=205,
        ),
        reels=[
            reel(
                "the.bagel.lab",
                1,
                15.2,
                608_000,
                "Why is nobody talking about homemade bagels? #bagels",
                "Why is nobody talking about homemade bagels? They take two hours, not two days. "
                "Boil them for one minute per side in water with a spoon of barley malt syrup. "
                "Bake at a high temperature until they are deep golden. "
                "Send this to someone who buys bagels every weekend.",
            ),
            reel(
                "the.bagel.lab",
                2,
                3.6,
                144_000,
                "The best pretzel dip you'll ever make",
                "The best pretzel dip you will ever make is just two ingredients. "
                "Whisk grainy mustard with a little honey until it is glossy.",
            ),
        ],
    ),
]

PRIMARY = ProfileInput(
    username="breadbyines",
    profile_name="Ines | Sourdough at home",
    bio="Home baker sharing sourdough that fits a busy week.",
    followers=12_400,
    median_views=5_900,
    mean_views=9_150,
    engagement_rate=4.8,
    total_reels=64,
)


def baker_input(**changes: Any) -> AnalysisInput:
    base = AnalysisInput(
        primary=PRIMARY,
        primary_reels=PRIMARY_REELS,
        competitors=COMPETITORS,
        content_strategy=BAKER_STRATEGY,
        settings={"hooks_count": 5},
    )
    return base.model_copy(update=changes)


def without_transcripts(analysis_input: AnalysisInput) -> AnalysisInput:
    def strip(reels: list[ReelInput]) -> list[ReelInput]:
        return [item.model_copy(update={"transcript": None}) for item in reels]

    return analysis_input.model_copy(
        update={
            "primary_reels": strip(analysis_input.primary_reels),
            "competitors": [
                competitor.model_copy(update={"reels": strip(competitor.reels)})
                for competitor in analysis_input.competitors
            ],
        }
    )
