"""Arguments a user gets wrong are user errors (vlkit.errors.InvalidArgumentError, also a ValueError) that
say what is accepted and what was given — raised when the agent is built, before any model call."""

from __future__ import annotations

import pytest

from vlkit.agents import KnowledgeBaseTool, create_vlm_agent
from vlkit.errors import InvalidArgumentError


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_steps": 0}, "max_steps must be 1 or more; got 0"),
        ({"max_retries": -1}, "max_retries must be 0 or more; got -1"),
        ({"prune_stride": 0}, "stride must be 1 or more; got 0"),
        ({"max_images": 0}, "max_images must be 1 or more, or None for no limit; got 0"),
    ],
)
def test_bad_agent_settings_are_invalid_argument_errors(scripted, kwargs, message) -> None:
    model = scripted()
    with pytest.raises(InvalidArgumentError, match=message):
        create_vlm_agent(model, [], family="qwen2_vl", **kwargs)
    assert model.calls == []


def test_ask_mode_without_a_model_names_the_model_argument() -> None:
    tool = KnowledgeBaseTool(index=object(), mode="ask")
    with pytest.raises(InvalidArgumentError, match=r"needs model=<a chat model>; or use mode='search'"):
        tool.invoke({"query": "When do backups run?"})
