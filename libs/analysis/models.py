"""What an analysis starts from: the creator, their reels, the competitors' top reels and the strategy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

StrategyText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]

DEFAULT_HOOKS_COUNT = 5
MAX_HOOKS_COUNT = 20
# Every fetched reel of a profile may be read (the fetch asks for at most 200).
MAX_REELS_PER_PROFILE = 200
MAX_COMPETITORS = 20  # the API takes 15


class ReelInput(BaseModel):
    # Reel ids are numbers in the provider's answers and strings in ours.
    model_config = ConfigDict(frozen=True, coerce_numbers_to_str=True)

    content_id: str
    shortcode: str
    url: str
    username: str
    caption: str | None = None
    # None: no speech in the reel, or no transcript was fetched; the caption stands in.
    transcript: str | None = None
    view_count: int | None = None
    like_count: int = 0
    comment_count: int = 0
    outlier_score: float = 0.0
    engagement_rate: float = 0.0
    date_posted: datetime | None = None
    # The niche baseline (readmodel.niche_baselines): the reel's category and the median views of that
    # category's reels posted in the same month; None when the reel is not categorised or has no baseline.
    category: str | None = None
    niche_median_views: float | None = None
    niche_reels: int | None = None

    @property
    def niche_outlier_score(self) -> float | None:
        if self.view_count is None or not self.niche_median_views or self.niche_median_views <= 0:
            return None
        return round(self.view_count / self.niche_median_views, 2)


class ProfileInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    username: str
    profile_name: str = ""
    bio: str = ""
    followers: int = 0
    median_views: float = 0.0
    mean_views: float = 0.0
    engagement_rate: float = 0.0
    total_reels: int = 0


class CompetitorInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    profile: ProfileInput
    reels: list[ReelInput] = Field(default_factory=list, max_length=MAX_REELS_PER_PROFILE)


class ContentStrategy(BaseModel):
    """Field names as the HTTP API receives them; stored strategies may leave any of them out."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    contentType: StrategyText = ""
    targetAudience: StrategyText = ""
    goals: StrategyText = ""
    additionalNotes: StrategyText = ""

    @field_validator("*", mode="before")
    @classmethod
    def _missing_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    def is_empty(self) -> bool:
        return not (self.contentType or self.targetAudience or self.goals or self.additionalNotes)


class AnalysisInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    primary: ProfileInput
    # Every fetched reel of the creator, with its transcript where one was fetched.
    primary_reels: list[ReelInput] = Field(default_factory=list, max_length=MAX_REELS_PER_PROFILE)
    competitors: list[CompetitorInput] = Field(default_factory=list, max_length=MAX_COMPETITORS)
    content_strategy: ContentStrategy = Field(default_factory=ContentStrategy)
    # The job's analysis_settings as submitted; only the keys below are read.
    settings: dict[str, Any] = Field(default_factory=dict)

    @property
    def hooks_count(self) -> int:
        value = self.settings.get("hooks_count", DEFAULT_HOOKS_COUNT)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return DEFAULT_HOOKS_COUNT
        try:
            count = int(value)
        except ValueError:
            return DEFAULT_HOOKS_COUNT
        return min(MAX_HOOKS_COUNT, max(1, count))

    def competitor_reels(self) -> list[ReelInput]:
        return [reel for competitor in self.competitors for reel in competitor.reels]

    def all_reels(self) -> list[ReelInput]:
        return [*self.competitor_reels(), *self.primary_reels]
