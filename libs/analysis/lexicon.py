"""Small word lists the local engine reads hooks and topics with."""

from __future__ import annotations

import re

STOPWORDS = frozenset(
    """
    a about above after again against all almost also am an and any are aren't as at be because been before
    being below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't
    down during each even ever every few for from further get gets getting got had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll
    i'm i've if in into is isn't it it's its itself just let's like me more most much must my myself no
    nor not now of off on once one only or other our ours ourselves out over own really same she she'd
    she'll she's should shouldn't so some still such than that that's the their theirs them themselves
    then there there's these they they'd they'll they're they've this those through to too under until
    up us very was wasn't we we'd we'll we're we've were weren't what what's when when's where where's
    which while who who's whom why why's will with won't would wouldn't you you'd you'll you're you've
    your yours yourself yourselves okay ok yes yeah actually thing things way ways lot lots make makes
    made going gonna want wants need needs know knew think right well back new first second last every
    always many day days week weeks year years time times month months hour hours minute minutes seconds
    per via etc work works feel add keep use using find look give take put say go goes come see let
    plenty enough whole single ever thousand thousands million percent half
    """.split()
)

# Words every reel uses whatever it is about: calls to action, hook scaffolding, platform talk.
FILLER = frozenset(
    """
    follow followers save share send comment comments link bio reel reels video videos post posts
    tips tip part series guide full friend someone later next anybody everyone everybody nobody
    tells tell talking talk hear listen learned hard explain backwards people wish sooner tried try
    happened changed everything trick tricks mistake mistakes instead simpler stop wrong costing cost
    surprised surprise help helping today tomorrow thank thanks check watch sure better best worst
    secret secrets truth nobody's forget simple easy quick fast start started
    """.split()
)

# Two-letter words that name a topic rather than glue a sentence together.
SHORT_TOPICS = frozenset({"ai", "ux", "ui", "tv", "vr", "pr", "hr", "ml", "3d"})

NUMBER_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve fifteen twenty fifty hundred".split()
)

LIST_NOUNS = (
    "tips",
    "ways",
    "things",
    "mistakes",
    "steps",
    "habits",
    "rules",
    "reasons",
    "secrets",
    "hacks",
    "lessons",
    "signs",
    "tricks",
    "ideas",
    "foods",
    "exercises",
    "tools",
    "apps",
)

POWER_WORDS = frozenset(
    """
    secret secrets proven instantly instant easy simple free mistake mistakes stop never nobody everything
    best worst ultimate hack hacks trick tricks truth exactly guaranteed shocking surprising changed
    finally fast quick powerful results why now today only hidden warning avoid costing instead wish
    sooner biggest fastest easiest cheapest simplest perfect crazy insane brutal honest real myth myths
    wrong lazy effortless breakthrough forbidden little-known underrated overrated stupid
    """.split()
)

# Trigger -> words (or short phrases) that pull it; order here is the order in the output.
EMOTIONAL_TRIGGERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fear", ("mistake", "wrong", "costing", "avoid", "warning", "ruin", "losing", "lose", "risk", "fail")),
    ("curiosity", ("why", "secret", "nobody", "trick", "hidden", "truth", "what happened", "here's what")),
    ("aspiration", ("get ", "achieve", "freedom", "dream", "success", "better", "stronger", "perfect")),
    ("urgency", ("now", "today", "before", "stop", "immediately", "sooner", " days", "right away")),
    ("belonging", ("we ", "us ", "everyone", "most people", "you're not alone", "like me", "community")),
    ("surprise", ("actually", "surprising", "shocking", "changed everything", "simpler than", "wait")),
    ("frustration", ("still", "tired of", "struggling", "wasting", "stuck", "sick of")),
)

SUPERLATIVES = frozenset(
    """
    best worst most least biggest fastest easiest cheapest simplest only ultimate number-one greatest
    guaranteed always never-fails every single perfect
    """.split()
)

CALL_TO_ACTION = re.compile(
    r"\b(?:follow|save this|comment|share|send this|link in (?:my )?bio|subscribe|dm me)\b", re.IGNORECASE
)
