"""What the language model is told: the exact shape to answer in, and a compact view of the input."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson

from .models import AnalysisInput, ReelInput
from .results import HOOK_TYPES, AnalysisData
from .text import shorten

PROMPT_VERSION = "1.0"
# Enough reels to find patterns while keeping the request far below common context windows.
PRIMARY_REELS = 10
COMPETITOR_REELS_TOTAL = 40
TRANSCRIPT_CHARS = 700
CAPTION_CHARS = 300

_RULES = f"""You analyse Instagram reels for ViralSpot, which finds viral content ideas for a creator.
The user message is a JSON document: the creator (primary), their content_strategy, their reels
(primary_reels), their competitors' top reels, and hooks_count.

Answer with ONE JSON object and nothing else. It must validate against the JSON Schema below. Rules:
- individual_reel_analyses: one item per input reel (competitors' and the creator's); copy content_id,
  username, shortcode, url, outlier_score and view_count from the input. hook_text is the reel's opening
  line (transcript first, else caption). hook_type is one of: {", ".join(HOOK_TYPES)}.
  effectiveness_score is 0-10.
- profile_analysis.unexplored_topics: 5 to 8 short topics competitors win with that the creator rarely
  covers, fitted to the content strategy (contentType, targetAudience, goals).
- generated_hooks: exactly hooks_count items. Each adapts the structure of one competitor reel's hook
  to a new topic. adapted_from copies content_id, username, shortcode, url, outlier_score and view_count
  of that competitor reel, and original_hook is its opening line. target_topic is copied exactly from
  profile_analysis.unexplored_topics. why_it_fits names the creator's target audience or goals.
- complete_scripts: one per generated hook, same order; complete_scripts[i].hook equals
  generated_hooks[i].hook_text. word_count counts the words of full_script, and
  estimated_duration_seconds is word_count / 2.5 rounded. call_to_action serves the stated goals.
- scripts_summary.total_scripts equals the number of scripts. analysis_summary.key_insights has 3-6
  items; analysis_summary.engine is "openai"; generated_at is an ISO 8601 timestamp.
- Use only the numbers and words of the input; invent no reels, usernames or metrics.
"""


@cache
def system_prompt() -> str:
    schema = orjson.dumps(AnalysisData.model_json_schema()).decode()
    return f"{_RULES}\nJSON Schema of the answer:\n{schema}"


def user_message(analysis_input: AnalysisInput) -> str:
    return orjson.dumps(compact_input(analysis_input)).decode()


def correction_message(problems: list[str]) -> str:
    listed = "\n".join(f"- {problem}" for problem in problems)
    return f"Your answer was rejected:\n{listed}\nAnswer again with the complete corrected JSON object only."


def compact_input(analysis_input: AnalysisInput) -> dict[str, Any]:
    competitors = [c for c in analysis_input.competitors if c.reels]
    per_competitor = max(2, COMPETITOR_REELS_TOTAL // max(1, len(competitors)))
    return {
        "hooks_count": analysis_input.hooks_count,
        "primary": analysis_input.primary.model_dump(mode="json"),
        "content_strategy": analysis_input.content_strategy.model_dump(mode="json"),
        "primary_reels": [_reel(reel) for reel in _top(analysis_input.primary_reels, PRIMARY_REELS)],
        "competitors": [
            {
                "profile": competitor.profile.model_dump(mode="json"),
                "reels": [_reel(reel) for reel in _top(competitor.reels, per_competitor)],
            }
            for competitor in competitors
        ],
    }


def _top(reels: list[ReelInput], count: int) -> list[ReelInput]:
    return sorted(reels, key=lambda reel: (-reel.outlier_score, reel.content_id))[:count]


def _reel(reel: ReelInput) -> dict[str, Any]:
    return {
        "content_id": reel.content_id,
        "username": reel.username,
        "shortcode": reel.shortcode,
        "url": reel.url,
        "outlier_score": reel.outlier_score,
        "view_count": reel.view_count,
        "like_count": reel.like_count,
        "comment_count": reel.comment_count,
        "caption": shorten(reel.caption or "", CAPTION_CHARS),
        "transcript": shorten(reel.transcript or "", TRANSCRIPT_CHARS) or None,
    }
