"""Bad message content and broken images are typed vlkit errors that say what was wrong — raised
before any model loads (the model path below does not exist, so a late check would report that)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from PIL import Image

from vlkit.errors import ImageUnreadableError, UnsupportedContentError
from vlkit.models import ChatQwenVL


@pytest.fixture
def llm(tmp_path: Path) -> ChatQwenVL:
    return ChatQwenVL(model=str(tmp_path / "no-such-model"), max_tokens=4)


@pytest.mark.parametrize(
    "content",
    [[], "", [{"type": "text"}], [{"type": "text", "text": None}]],
    ids=["empty-list", "empty-string", "text-block-without-text", "text-none"],
)
def test_empty_human_content_is_refused(llm: ChatQwenVL, content: object) -> None:
    with pytest.raises(UnsupportedContentError) as info:
        llm.invoke([HumanMessage(content=content)])  # type: ignore[arg-type]
    assert "text" in str(info.value)


def test_an_empty_prompt_string_is_refused(llm: ChatQwenVL) -> None:
    with pytest.raises(UnsupportedContentError, match="empty"):
        llm.invoke("")


@pytest.mark.parametrize("message", [{"role": "user", "content": [42]}, ("user", [42])], ids=["dict", "tuple"])
def test_a_number_as_content_is_an_unsupported_content_error(llm: ChatQwenVL, message: object) -> None:
    with pytest.raises(UnsupportedContentError) as info:
        llm.invoke([message])  # type: ignore[list-item]
    assert "42" in str(info.value) and "image" in str(info.value)
    with pytest.raises(UnsupportedContentError):
        list(llm.stream([message]))  # type: ignore[list-item]


def test_a_zero_byte_image_names_its_file(llm: ChatQwenVL, tmp_path: Path) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageUnreadableError) as info:
        llm.invoke([HumanMessage(content=[{"type": "image", "path": str(empty)}, "describe"])])
    assert str(empty) in str(info.value) and "empty" in str(info.value)
    assert "BytesIO" not in str(info.value)


def test_a_truncated_jpeg_names_its_file_before_the_model_loads(llm: ChatQwenVL, tmp_path: Path) -> None:
    for progressive in (False, True):
        buffer = io.BytesIO()
        Image.effect_noise((640, 480), 64).convert("RGB").save(buffer, "JPEG", quality=90, progressive=progressive)
        cut = tmp_path / f"photo-{progressive}.jpg"
        cut.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) * 2 // 3])
        with pytest.raises(ImageUnreadableError) as info:  # not ModelNotFoundError: checked before loading
            llm.invoke([HumanMessage(content=[{"type": "image", "path": str(cut)}, "describe"])])
        assert str(cut) in str(info.value) and "truncated" in str(info.value)


def test_whole_images_with_trailing_data_still_pass(llm: ChatQwenVL, tmp_path: Path) -> None:
    """A JPEG with data after its end marker (motion photos append a video) is complete, not truncated."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(buffer, "JPEG")
    photo = tmp_path / "motion.jpg"
    photo.write_bytes(buffer.getvalue() + b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    from vlkit.vision.loading import image_from_block

    assert image_from_block({"type": "image", "path": str(photo)}).size == (64, 48)
