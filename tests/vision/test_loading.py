"""Every accepted image form, each image error, and open_image — on real encoded images."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from PIL import Image

from vlkit.errors import ImageTooLargeError, UnsupportedContentError, ImageUnreadableError, UnsupportedImageFormatError
from vlkit.models.messages import to_turns
from vlkit.vision import ImageInput, ImageLimits, image_from_block, image_size, open_image


def _png(size=(64, 48), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def _bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with almost no data (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


@pytest.fixture
def png_file(tmp_path: Path) -> Path:
    path = tmp_path / "red.png"
    path.write_bytes(_png())
    return path


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize(
    "make_block",
    [
        pytest.param(lambda p: {"type": "image", "base64": _b64(p.read_bytes()), "mime_type": "image/png"}, id="v1-base64"),
        pytest.param(
            lambda p: {"type": "image", "source_type": "base64", "data": _b64(p.read_bytes()), "mime_type": "image/png"},
            id="v0-base64",
        ),
        pytest.param(lambda p: {"type": "image", "url": f"data:image/png;base64,{_b64(p.read_bytes())}"}, id="v1-data-url"),
        pytest.param(
            lambda p: {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_b64(p.read_bytes())}"}},
            id="openai-data-url",
        ),
        pytest.param(lambda p: {"type": "image_url", "image_url": p.as_uri()}, id="openai-file-uri-string"),
        pytest.param(lambda p: {"type": "image", "url": p.as_uri()}, id="file-uri"),
        pytest.param(lambda p: {"type": "image", "path": str(p)}, id="path"),
        pytest.param(lambda p: {"type": "image", "image": str(p)}, id="image-path"),
        pytest.param(lambda p: {"type": "image", "image": Image.open(p)}, id="pil"),
    ],
)
def test_every_local_form_decodes_to_the_same_pixels(png_file: Path, make_block) -> None:
    image = image_from_block(make_block(png_file))
    assert image.size == (64, 48)
    pil = image.to_pil()
    assert pil.mode == "RGB" and pil.size == (64, 48)
    assert pil.getpixel((10, 10)) == (200, 30, 30)


def test_remote_url_is_kept_as_url_not_fetched() -> None:
    image = image_from_block({"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}})
    assert image.is_remote and image.url == "https://example.com/cat.png" and image.data is None


def test_data_url_roundtrip_keeps_bytes(png_file: Path) -> None:
    image = image_from_block({"type": "image", "path": str(png_file)})
    header, payload = image.to_data_url().split(",", 1)
    assert header == "data:image/png;base64"
    assert base64.b64decode(payload) == png_file.read_bytes()


def test_per_image_budget_is_carried(png_file: Path) -> None:
    image = image_from_block({"type": "image", "path": str(png_file), "max_pixels": 12345, "min_pixels": 99})
    assert (image.min_pixels, image.max_pixels) == (99, 12345)


def test_decompression_bomb_refused_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_bomb_png(50_000, 50_000))
    assert bomb.stat().st_size < 200
    with pytest.raises(ImageTooLargeError, match="refused before decoding|decompression bomb"):
        image_from_block({"type": "image", "path": str(bomb)})


def test_configured_pixel_limit(png_file: Path) -> None:
    with pytest.raises(ImageTooLargeError, match="64x48"):
        image_from_block({"type": "image", "path": str(png_file)}, ImageLimits(max_pixels=1000))


def test_configured_byte_limit(png_file: Path) -> None:
    with pytest.raises(ImageTooLargeError, match="limit"):
        image_from_block({"type": "image", "path": str(png_file)}, ImageLimits(max_bytes=10))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageUnreadableError, match="not found"):
        image_from_block({"type": "image", "path": str(tmp_path / "nope.png")})


def test_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("just text")
    with pytest.raises(ImageUnreadableError, match="not a readable image"):
        image_from_block({"type": "image", "path": str(path)})


def test_bad_base64() -> None:
    with pytest.raises(ImageUnreadableError, match="base64"):
        image_from_block({"type": "image", "base64": "@@not-base64@@", "mime_type": "image/png"})


def test_unsupported_format(tmp_path: Path) -> None:
    path = tmp_path / "pic.ico"
    Image.new("RGB", (16, 16)).save(path, format="ICO")
    with pytest.raises(UnsupportedImageFormatError, match="supported"):
        image_from_block({"type": "image", "path": str(path)})


def test_unsupported_scheme_and_empty_block() -> None:
    with pytest.raises(UnsupportedImageFormatError, match="scheme"):
        image_from_block({"type": "image", "url": "ftp://host/x.png"})
    with pytest.raises(UnsupportedImageFormatError, match="no image"):
        image_from_block({"type": "image"})


def test_truncated_image_fails_on_decode(tmp_path: Path) -> None:
    data = _png((300, 300))
    image = ImageInput(data=data[: len(data) // 2], mime_type="image/png", size=(300, 300))
    with pytest.raises(ImageUnreadableError):
        image.to_pil()


def test_messages_to_turns(png_file: Path) -> None:
    turns = to_turns(
        [
            SystemMessage(content="be brief"),
            HumanMessage(content=[{"type": "text", "text": "look:"}, {"type": "image", "path": str(png_file)}, "and"]),
            AIMessage(content="", tool_calls=[{"name": "zoom", "args": {"x": 1}, "id": "c1"}]),
            ToolMessage(content="zoomed", tool_call_id="c1"),
            SystemMessage(content="late system"),
        ]
    )
    assert [t.role for t in turns] == ["system", "user", "assistant", "tool"]
    assert turns[0].text == "be brief\n\nlate system"
    assert [type(p).__name__ for p in turns[1].content] == ["str", "ImageInput", "str"]
    assert turns[2].tool_calls[0].name == "zoom" and turns[2].tool_calls[0].args == {"x": 1}
    assert turns[3].tool_call_id == "c1"


def test_unknown_block_type_is_a_typed_error() -> None:
    with pytest.raises(UnsupportedContentError, match="audio"):
        to_turns([HumanMessage(content=[{"type": "audio", "base64": "AAAA", "mime_type": "audio/wav"}])])


# --------------------------------------------------------------------------- open_image / image_size


@pytest.mark.parametrize("form", ["path", "str", "bytes", "pil"])
def test_open_image_takes_every_form_and_gives_rgb(png_file: Path, form: str) -> None:
    source = {"path": png_file, "str": str(png_file), "bytes": png_file.read_bytes(),
              "pil": Image.open(png_file).convert("RGBA")}[form]  # fmt: skip
    image = open_image(source)
    assert image.mode == "RGB" and image.size == (64, 48) and image.getpixel((10, 10)) == (200, 30, 30)


def test_open_image_refuses_a_bomb_from_its_header(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_bomb_png(10_000, 10_000))  # 100 MP in under 200 bytes
    with pytest.raises(ImageTooLargeError, match="10000x10000 = 100 MP; the limit is 64 MP"):
        open_image(bomb)
    with pytest.raises(ImageTooLargeError, match="100 MP"):
        open_image(bomb.read_bytes())
    with pytest.raises(ImageTooLargeError, match="100 MP"):
        image_size(bomb)
    assert image_size(bomb, ImageLimits(max_pixels=10**9)) == (10_000, 10_000)  # the header alone
    bigger = tmp_path / "bigger.png"
    bigger.write_bytes(_bomb_png(20_000, 20_000))  # past PIL's own bomb limit too
    with pytest.raises(ImageTooLargeError, match="decompression bomb"):
        open_image(bigger)


def test_open_image_limits_and_errors(png_file: Path, tmp_path: Path) -> None:
    with pytest.raises(ImageTooLargeError, match="64x48"):
        open_image(png_file, ImageLimits(max_pixels=1000))
    with pytest.raises(ImageTooLargeError, match="MiB"):
        open_image(png_file, ImageLimits(max_bytes=10))
    with pytest.raises(ImageTooLargeError, match="64x48"):
        open_image(Image.new("RGB", (64, 48)), ImageLimits(max_pixels=1000))
    with pytest.raises(ImageUnreadableError, match="not found"):
        open_image(tmp_path / "absent.png")
    half = tmp_path / "half.png"
    half.write_bytes(_png((300, 300))[:200])
    with pytest.raises(ImageUnreadableError, match="the screenshot"):
        open_image(half, what="the screenshot")
    notes = tmp_path / "notes.png"
    notes.write_text("just text")
    with pytest.raises(ImageUnreadableError, match="not a readable image"):
        image_size(notes)
