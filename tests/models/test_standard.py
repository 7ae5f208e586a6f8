"""LangChain's standard chat-model suites against ChatQwenVL on tiny checkpoints of each family.

The flags below are honest: what ChatQwenVL does not do is switched off or xfailed with the reason.
The upstream image test downloads a picture from GitHub; this machine has no network, so it is
re-run here with a local PNG and a URL served on 127.0.0.1 (same three input forms).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from tests.models.conftest import tiny
from vlkit.models import ChatQwenVL


class _Flags:
    @property
    def chat_model_class(self) -> type[ChatQwenVL]:
        return ChatQwenVL

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_image_tool_message(self) -> bool:
        return False  # ToolMessage content is text for Qwen's templates

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supports_model_override(self) -> bool:
        return False  # one ChatQwenVL = one loaded checkpoint

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True  # "any"/"required" and a tool's name are enforced by grammar-constrained decoding

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True  # json_mode is decoded under the schema's grammar too


class _Tiny(_Flags):
    family = "qwen2_vl"

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": tiny(self.family)}

    @property
    def standard_chat_model_params(self) -> dict[str, Any]:
        # Random weights never stop on their own: keep answers short so the suite stays fast, yet long
        # enough for one grammar-constrained tool call or structured answer (20 to 40 tokens with the tiny tokenizer).
        return {**super().standard_chat_model_params, "max_tokens": 48}


class TestUnitQwen2VL(_Tiny, ChatModelUnitTests):
    @property
    def init_from_env_params(self) -> tuple[dict, dict, dict]:
        return (
            {"VLKIT_MODEL": "served-qwen", "VLKIT_BASE_URL": "http://127.0.0.1:9/v1", "VLKIT_API_KEY": "sk-test"},
            {"backend": "openai"},
            {"model": "served-qwen", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-test"},
        )


_RANDOM_ARGS = (
    "random weights: the grammar makes the call valid, but cannot make a random model choose the "
    "argument value this test expects"
)


class _Integration(_Tiny, ChatModelIntegrationTests):
    @pytest.mark.xfail(reason=_RANDOM_ARGS + " ({'input': 3}); the call's shape is asserted in test_tools_integration")
    def test_tool_calling(self, model: ChatQwenVL) -> None:
        super().test_tool_calling(model)

    @pytest.mark.xfail(reason=_RANDOM_ARGS + " ({'input': 3}); the call's shape is asserted in test_tools_integration")
    async def test_tool_calling_async(self, model: ChatQwenVL) -> None:
        await super().test_tool_calling_async(model)

    @pytest.mark.xfail(reason=_RANDOM_ARGS + " ('你好'); it may pick those characters by chance", strict=False)
    def test_unicode_tool_call_integration(self, model: ChatQwenVL, *args: Any, **kwargs: Any) -> None:
        super().test_unicode_tool_call_integration(model, *args, **kwargs)

    @pytest.mark.xfail(reason=_RANDOM_ARGS + " (a non-empty answer_style); it may write one by chance", strict=False)
    def test_bind_runnables_as_tools(self, model: ChatQwenVL) -> None:
        super().test_bind_runnables_as_tools(model)

    @pytest.mark.xfail(
        reason="binds tools with tool_choice='auto', and a random model never decides to call one; the same "
        "loop with tool_choice='required' runs in test_tools_integration::test_agent_loop_round_trips_tool_messages_with_images"
    )
    def test_agent_loop(self, model: ChatQwenVL) -> None:
        super().test_agent_loop(model)

    @pytest.mark.xfail(reason="downloads its picture from raw.githubusercontent.com; no network here "
                       "(the same three input forms run offline in test_image_inputs_offline)", strict=True)
    def test_image_inputs(self, model: ChatQwenVL) -> None:
        super().test_image_inputs(model)

    def test_image_inputs_offline(self, model: ChatQwenVL, chart_png: Path, image_server: str) -> None:
        data = base64.b64encode(chart_png.read_bytes()).decode()
        prompt = {"type": "text", "text": "Give a concise description of this image."}
        forms = [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}},
            {"type": "image", "base64": data, "mime_type": "image/png"},
            {"type": "image", "url": f"{image_server}/{chart_png.name}"},
        ]
        # the image server is on loopback, which a chat model fetches from only when allowed
        params = {**self.chat_model_params, **self.standard_chat_model_params, "allow_private_image_urls": True}
        local = ChatQwenVL(**params)
        for block in forms:
            result = (local if "url" in block else model).invoke([HumanMessage(content=[prompt, block])])
            assert isinstance(result, AIMessage)
            assert result.response_metadata["image_tokens"] > 0


class TestIntegrationQwen2VL(_Integration):
    family = "qwen2_vl"


class TestIntegrationQwen25VL(_Integration):
    family = "qwen2_5_vl"


class TestIntegrationQwen3VL(_Integration):
    family = "qwen3_vl"


# ------------------------------------------------------------------ the same suites on the llama.cpp backend
# (a tiny checkpoint of each family exported in the test session by `vlkit export`'s code path)


def _exported(family: str) -> str:
    pytest.importorskip("llama_cpp", reason="the llamacpp extra (llama-cpp-python) is not installed")
    from vlkit.testing import tiny_export

    return str(tiny_export(family))


class _LlamaCpp(_Integration):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": _exported(self.family)}


class TestUnitLlamaCppQwen2VL(_Tiny, ChatModelUnitTests):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": _exported(self.family)}


class TestIntegrationLlamaCppQwen2VL(_LlamaCpp):
    family = "qwen2_vl"


class TestIntegrationLlamaCppQwen25VL(_LlamaCpp):
    family = "qwen2_5_vl"


class TestIntegrationLlamaCppQwen3VL(_LlamaCpp):
    family = "qwen3_vl"
