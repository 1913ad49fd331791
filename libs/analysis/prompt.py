"""What the language model is told at each step: the exact shape of that step's answer, what earlier
steps settled, and a compact view of the input (the only reels it may cite)."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson

from .models import AnalysisInput, CompetitorInput, ReelInput
from .results import HOOK_TYPES
from .steps import Step
from .text import shorten

PROMPT_VERSION = "2.0"
# Enough reels to find patterns while keeping each step's request far below common context windows.
PRIMARY_REELS = 10
COMPETITOR_REELS_TOTAL = 40
TRANSCRIPT_CHARS = 700
CAPTION_CHARS = 300

_INTRO = """You analyse Instagram reels for ViralSpot, which finds viral content ideas for a creator.
The analysis is written in steps; this one is step "{name}". The user message is a JSON document:
`input` holds the creator (primary), their content_strategy, their reels (primary_reels), their
competitors' top reels and settings.hooks_count; `accepted` holds the sections earlier steps settled,
which your answer must agree with.

Answer with ONE JSON object with the single key "{section}" and nothing else. It must validate against
the JSON Schema below. Use only the numbers and words of the input; invent no reels, usernames or metrics.
"""

_RULES = {
    "profile": """- profile_analysis.unexplored_topics: 5 to 8 short topics competitors win with that the
  creator rarely covers, fitted to the content strategy (contentType, targetAudience, goals).""",
    "hooks": f"""- individual_reel_analyses: one item per input reel with a caption or transcript
  (competitors' and the creator's); copy content_id, username, shortcode, url, outlier_score and
  view_count from the input. hook_text is the reel's opening line (transcript first, else caption).
  hook_type is one of: {", ".join(HOOK_TYPES)}. effectiveness_score is 0-10.""",
    "generation": """- generated_hooks: exactly settings.hooks_count items. Each adapts the structure of one
  competitor reel's hook to a new topic. adapted_from copies content_id, username, shortcode, url,
  outlier_score and view_count of that competitor reel, and original_hook is its opening line.
  target_topic is copied exactly from accepted.profile_analysis.unexplored_topics. why_it_fits names
  the creator's target audience or goals.""",
    "scripts": """- complete_scripts: one per accepted generated hook, same order; complete_scripts[i].hook
  equals generated_hooks[i].hook_text. word_count counts the words of full_script, and
  estimated_duration_seconds is word_count / 2.5 rounded. call_to_action serves the stated goals.""",
}


@cache
def system_prompt(step: Step) -> str:
    schema = orjson.dumps(step.answer.model_json_schema()).decode()
    rules = _RULES.get(step.name, f"- {step.section}: fill it from the input and the accepted sections.")
    intro = _INTRO.format(name=step.name, section=step.section)
    return f"{intro}\nRules:\n{rules}\n\nJSON Schema of the answer:\n{schema}"


def step_message(step: Step, sent: AnalysisInput, accepted: dict[str, Any]) -> str:
    """`sent` is compact_input()'s; `accepted` the earlier steps' sections as JSON values."""
    return orjson.dumps(
        {
            "step": step.name,
            "answer_with": step.section,
            "input": sent.model_dump(mode="json"),
            "accepted": accepted,
        }
    ).decode()


def correction_message(problems: list[str]) -> str:
    listed = "\n".join(f"- {problem}" for problem in problems)
    return f"Your answer was rejected:\n{listed}\nAnswer again with the complete corrected JSON object only."


def compact_input(analysis_input: AnalysisInput) -> AnalysisInput:
    """The input as the model sees it: the best outliers, texts shortened; grounding checks against it."""
    competitors = [c for c in analysis_input.competitors if c.reels]
    per_competitor = max(2, COMPETITOR_REELS_TOTAL // max(1, len(competitors)))
    return analysis_input.model_copy(
        update={
            "primary_reels": [_reel(reel) for reel in _top(analysis_input.primary_reels, PRIMARY_REELS)],
            "competitors": [
                CompetitorInput(
                    profile=competitor.profile,
                    reels=[_reel(r) for r in _top(competitor.reels, per_competitor)],
                )
                for competitor in competitors
            ],
            "settings": {"hooks_count": analysis_input.hooks_count},
        }
    )


def _top(reels: list[ReelInput], count: int) -> list[ReelInput]:
    return sorted(reels, key=lambda reel: (-reel.outlier_score, reel.content_id))[:count]


def _reel(reel: ReelInput) -> ReelInput:
    transcript = shorten(reel.transcript or "", TRANSCRIPT_CHARS) or None
    caption = shorten(reel.caption, CAPTION_CHARS) if reel.caption is not None else None
    return reel.model_copy(update={"caption": caption, "transcript": transcript})
