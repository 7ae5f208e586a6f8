"""The tiny Qwen-VL checkpoints load and run through the public transformers path a real one takes."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from PIL import Image  # noqa: E402
from transformers import AutoConfig, AutoModelForImageTextToText, AutoTokenizer  # noqa: E402
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil  # noqa: E402

import vlkit.testing  # noqa: E402
from vlkit.errors import UserError  # noqa: E402
from vlkit.testing import TINY_FAMILIES, build_tiny_checkpoint, tiny_checkpoint  # noqa: E402
from vlkit.testing.cache import content_version  # noqa: E402

SPECIAL = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>",
    "<|video_pad|>", "<|vision_pad|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>",
]  # fmt: skip
NON_SPECIAL = ["<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"]
CHECKPOINT_FILES = {
    "config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
    "vocab.json", "merges.txt", "chat_template.jinja", "preprocessor_config.json",
}  # fmt: skip
# 448x448 px: factor 28 -> 16x16 merged tokens; factor 32 -> 14x14 (448 = 14 * 32).
VISUAL_TOKENS_448 = {"qwen2_vl": 256, "qwen2_5_vl": 256, "qwen3_vl": 196}
ARCHITECTURES = {
    "qwen2_vl": "Qwen2VLForConditionalGeneration",
    "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration",
    "qwen3_vl": "Qwen3VLForConditionalGeneration",
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather of a city.",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]
TOOL_MESSAGES = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
    },
    {"role": "tool", "content": "18 degrees, light rain"},
]


@pytest.fixture(scope="module", params=TINY_FAMILIES)
def family(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def folder(family: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_checkpoint(family, tmp_path_factory.mktemp(family))


@pytest.fixture(scope="module")
def tokenizer(folder: Path):
    return AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="module")
def model(folder: Path):
    return AutoModelForImageTextToText.from_pretrained(folder)


def _image(side: int = 448) -> Image.Image:
    ramp = torch.linspace(0, 255, side).to(torch.uint8).expand(side, side)
    pixels = torch.stack([ramp, ramp.T, torch.full((side, side), 90, dtype=torch.uint8)], -1)
    return Image.fromarray(pixels.numpy())


def _user_turn_with_image(text: str) -> list[dict]:
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]


def test_public_api() -> None:
    assert vlkit.testing.__all__ == ["TINY_FAMILIES", "build_tiny_checkpoint", "tiny_checkpoint", "tiny_export"]
    assert TINY_FAMILIES == ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"]


def test_unknown_family_names_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="qwen2_vl, qwen2_5_vl, qwen3_vl"):
        build_tiny_checkpoint("qwen4_vl", tmp_path)
    assert not any(tmp_path.iterdir())


def test_folder_has_the_files_of_a_real_checkpoint(family: str, folder: Path) -> None:
    # Qwen3-VL checkpoints also ship their video processor's config (Qwen2/2.5-VL's read preprocessor_config.json)
    video = {"video_preprocessor_config.json"} if family == "qwen3_vl" else set()
    assert {p.name for p in folder.iterdir()} == CHECKPOINT_FILES | video
    assert sum(p.stat().st_size for p in folder.iterdir()) < 10 * 2**20


def test_loads_through_public_path(family: str, folder: Path, model, tokenizer) -> None:
    config = AutoConfig.from_pretrained(folder)
    assert config.model_type == family
    assert config.architectures == [ARCHITECTURES[family]]
    assert type(model).__name__ == ARCHITECTURES[family]
    assert type(tokenizer).__name__ == "Qwen2Tokenizer"
    assert config.image_token_id == tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert config.video_token_id == tokenizer.convert_tokens_to_ids("<|video_pad|>")
    assert config.vision_start_token_id == tokenizer.convert_tokens_to_ids("<|vision_start|>")
    assert config.vision_end_token_id == tokenizer.convert_tokens_to_ids("<|vision_end|>")
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"
    assert model.generation_config.eos_token_id == [tokenizer.eos_token_id, tokenizer.pad_token_id]
    assert model.generation_config.do_sample is False
    text = config.text_config
    assert text.hidden_size == 64 and text.num_hidden_layers == 2
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    assert sum(text.rope_parameters["mrope_section"]) == head_dim // 2
    if family == "qwen3_vl":
        assert config.vision_config.deepstack_visual_indexes == [1]


def test_special_tokens_have_real_spellings(tokenizer) -> None:
    for token in SPECIAL + NON_SPECIAL:
        ids = tokenizer(token, add_special_tokens=False).input_ids
        assert ids == [tokenizer.convert_tokens_to_ids(token)], token
    ids = tokenizer("".join(SPECIAL + NON_SPECIAL) + "ok").input_ids
    assert tokenizer.decode(ids, skip_special_tokens=True) == "".join(NON_SPECIAL) + "ok"


@pytest.mark.parametrize("text", ["机器学习很有趣，这张图片里有一只猫。", "Hello, 世界! {\"a\": [1, 2.5]} 🙂 Ünïcödé"])
def test_text_round_trips(tokenizer, text: str) -> None:
    ids = tokenizer(text, add_special_tokens=False).input_ids
    assert tokenizer.decode(ids) == text
    assert len(ids) < len(text.encode("utf-8"))  # the merges learnt something for both scripts


def test_chat_template_renders_image_turn(tokenizer) -> None:
    rendered = tokenizer.apply_chat_template(
        _user_turn_with_image("这是什么? What is it?"), tokenize=False, add_generation_prompt=True
    )
    turn = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>这是什么? What is it?<|im_end|>\n"
    assert turn in rendered
    assert rendered.endswith("<|im_start|>assistant\n")


def test_image_processor_grid(family: str, folder: Path) -> None:
    processor = Qwen2VLImageProcessorPil.from_pretrained(folder)
    out = processor(images=[_image()], return_tensors="pt")
    grid = out["image_grid_thw"]
    patch = 16 if family == "qwen3_vl" else 14
    assert processor.patch_size == patch and processor.merge_size == 2 and processor.temporal_patch_size == 2
    assert int(grid.prod()) // 4 == VISUAL_TOKENS_448[family]
    assert tuple(out["pixel_values"].shape) == (int(grid.prod()), 3 * 2 * patch * patch)


def test_generate_with_image_yields_text(folder: Path, model, tokenizer) -> None:
    processor = Qwen2VLImageProcessorPil.from_pretrained(folder)
    vision = processor(images=[_image()], return_tensors="pt")
    n_visual = int(vision["image_grid_thw"].prod()) // 4
    prompt = tokenizer.apply_chat_template(
        _user_turn_with_image("Describe the picture."), tokenize=False, add_generation_prompt=True
    )
    inputs = tokenizer(prompt.replace("<|image_pad|>", "<|image_pad|>" * n_visual), return_tensors="pt")
    image_id = model.config.image_token_id
    assert int((inputs.input_ids == image_id).sum()) == n_visual
    with torch.no_grad():
        out = model.generate(
            **inputs,
            pixel_values=vision["pixel_values"],
            image_grid_thw=vision["image_grid_thw"],
            mm_token_type_ids=(inputs.input_ids == image_id).long(),
            max_new_tokens=20,
        )
    new = out[0, inputs.input_ids.shape[1] :].tolist()
    assert len(new) == 20
    added = set(tokenizer.convert_tokens_to_ids(SPECIAL + NON_SPECIAL))
    assert not added & set(new)
    text = tokenizer.decode(new, skip_special_tokens=True)
    assert text.strip() and text.isprintable() and "\ufffd" not in text


def test_tools_rendering(family: str, tokenizer) -> None:
    rendered = tokenizer.apply_chat_template(
        TOOL_MESSAGES, tools=TOOLS, tokenize=False, add_generation_prompt=True
    )
    if family == "qwen3_vl":
        system = rendered.split("<|im_end|>")[0]
        assert "<tools>\n" + json.dumps(TOOLS[0]) + "\n</tools>" in system
        assert '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' in rendered
        assert "<|im_start|>user\n<tool_response>\n18 degrees, light rain\n</tool_response><|im_end|>" in rendered
    else:  # the Qwen2-VL template has no tools section
        assert "<tools>" not in rendered and "get_weather" not in rendered
        assert rendered.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")


def test_same_seed_same_weights(tmp_path: Path) -> None:
    a = build_tiny_checkpoint("qwen2_vl", tmp_path / "a", seed=3)
    b = build_tiny_checkpoint("qwen2_vl", tmp_path / "b", seed=3)
    c = build_tiny_checkpoint("qwen2_vl", tmp_path / "c", seed=4)
    weights = [(p / "model.safetensors").read_bytes() for p in (a, b, c)]
    assert weights[0] == weights[1] != weights[2]


def test_cache_builds_once_and_survives_a_race(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLKIT_CACHE", str(tmp_path))
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(tiny_checkpoint("qwen3_vl"))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = tmp_path / "tiny" / f"qwen3_vl-{content_version()}"
    assert results == [expected, expected]
    assert [p.name for p in (tmp_path / "tiny").iterdir()] == [expected.name]  # no staging folders left
    stamp = (expected / "model.safetensors").stat().st_mtime_ns
    assert tiny_checkpoint("qwen3_vl") == expected
    assert (expected / "model.safetensors").stat().st_mtime_ns == stamp
    assert AutoConfig.from_pretrained(expected).model_type == "qwen3_vl"
