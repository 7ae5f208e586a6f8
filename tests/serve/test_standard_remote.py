"""LangChain's standard integration suite for ChatQwenVL(backend="openai") against the real `vlkit serve`
process: the same suite that checks the local model, now end to end over HTTP (text, images, streaming,
tools, structured output). Flags are honest; what random weights cannot do is xfailed with the reason."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from tests.serve.conftest import API_KEY, MODEL_NAME, Server
from vlkit.models import ChatQwenVL

pytestmark = [pytest.mark.server, pytest.mark.slow]

_BASE_URL: dict[str, str] = {}

_RANDOM = "random weights: the grammar makes the call valid, but cannot make a random model pick the expected value"


@pytest.fixture(autouse=True)
def _point_at_server(server: Server) -> None:
    _BASE_URL["url"] = server.base_url


class TestRemoteStandard(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatQwenVL]:
        return ChatQwenVL

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"backend": "openai", "base_url": _BASE_URL["url"], "api_key": API_KEY, "model": MODEL_NAME,
                "family": "qwen2_vl", "max_retries": 0}  # fmt: skip

    @property
    def standard_chat_model_params(self) -> dict[str, Any]:
        return {**super().standard_chat_model_params, "max_tokens": 48}

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return False  # the server fetches URLs only with --allow-url-fetch, and never from loopback

    @property
    def supports_image_tool_message(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return False

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @pytest.mark.xfail(reason=_RANDOM + " ({'input': 3})")
    def test_tool_calling(self, model: ChatQwenVL) -> None:
        super().test_tool_calling(model)

    @pytest.mark.xfail(reason=_RANDOM + " ({'input': 3})")
    async def test_tool_calling_async(self, model: ChatQwenVL) -> None:
        await super().test_tool_calling_async(model)

    @pytest.mark.xfail(reason=_RANDOM + " ('你好')", strict=False)
    def test_unicode_tool_call_integration(self, model: ChatQwenVL, *args: Any, **kwargs: Any) -> None:
        super().test_unicode_tool_call_integration(model, *args, **kwargs)

    @pytest.mark.xfail(reason=_RANDOM + " (a non-empty answer_style)", strict=False)
    def test_bind_runnables_as_tools(self, model: ChatQwenVL) -> None:
        super().test_bind_runnables_as_tools(model)

    @pytest.mark.xfail(reason="tool_choice='auto' with random weights never decides to call a tool")
    def test_agent_loop(self, model: ChatQwenVL) -> None:
        super().test_agent_loop(model)

    @pytest.mark.xfail(reason="downloads its picture from raw.githubusercontent.com; no network here "
                       "(data-URL images run in test_clients)", strict=True)  # fmt: skip
    def test_image_inputs(self, model: ChatQwenVL) -> None:
        super().test_image_inputs(model)
