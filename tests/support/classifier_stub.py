"""tests/support/openai_stub.py's server, also answering categorisation requests (libs/analysis/classifiers.py).

A categorisation (a user message with a `creator`) is answered as a well-behaved model would, with the
local classifier's reading of what was sent, its keywords capitalised as a model might write them; the
stub's failure counts apply to it as to an analysis: text that is not JSON, JSON that breaks the schema
(a category outside the taxonomy, five keywords, an unknown style), or an answer about content that was
never sent. Anything else is an analysis request, answered by the stub as before.
"""

from __future__ import annotations

from typing import Any

import orjson

from libs.analysis import ContentText, CreatorText, categorise
from tests.support.openai_stub import OpenAIStub, StubBehaviour


class ClassifierStub(OpenAIStub):
    def _content(self, body: dict[str, Any]) -> str:
        sent = orjson.loads(next(m["content"] for m in body["messages"] if m["role"] == "user"))
        if "creator" not in sent:
            return super()._content(body)
        behaviour = self.behaviour
        if behaviour.invalid_json:
            behaviour.invalid_json -= 1
            return "Here are the categories: {profile: fitness ..."
        answer = _categorisation(sent)
        if behaviour.schema_invalid:
            behaviour.schema_invalid -= 1
            answer["profile"]["primary_category"] = "astrology"
            answer["profile"]["keywords"] = ["one", "two", "three", "four", "five"]
            answer["content"][0]["content_style"] = "dance"
        elif behaviour.ungrounded:
            behaviour.ungrounded -= 1
            answer["content"][0]["content_id"] = "made-up-reel"
        return orjson.dumps(answer).decode()


async def start_classifier_stub(**behaviour: Any) -> ClassifierStub:
    stub = ClassifierStub(StubBehaviour(**behaviour))
    await stub.start()
    return stub


def _categorisation(sent: dict[str, Any]) -> dict[str, Any]:
    found = categorise(CreatorText(**sent["creator"]), [ContentText(**item) for item in sent["content"]])
    profile = found.profile.model_dump(exclude={"username", "classifier", "account_type"})
    profile["keywords"] = [keyword.title() for keyword in profile["keywords"]]
    content = [reel.model_dump(exclude={"hook_type"}) for reel in found.content]
    return {"profile": profile, "content": content}
