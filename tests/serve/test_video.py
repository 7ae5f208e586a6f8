"""Video through a real `vlkit serve --tiny qwen2_vl` process: the official openai client sends ``video_url`` data
URLs, the usage reports the video tokens (equal to vlkit's own count), a video over ``--max-video-mb`` is a 400;
vlkit's openai backend talks to the same server; the web UI's upload reaches the model as a video."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Iterator

import openai
import pytest
from langchain_core.messages import HumanMessage

from tests.serve.conftest import MODEL_NAME, Server, start_server, stop_server, tiny
from vlkit.testing.clips import make_clip

pytestmark = [pytest.mark.server, pytest.mark.slow]
pytest.importorskip("av")

PROMPT = "What moves in the video?"


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "small": make_clip(folder / "small.mp4", seconds=3, fps=10, size=(160, 120)),  # ~16 KB
        "large": make_clip(folder / "large.mp4", seconds=6, fps=10, size=(320, 240)),  # ~45 KB
    }


@pytest.fixture(scope="module")
def video_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("serve-video"), "--no-ui", "--max-tokens", "6",
                          "--max-video-mb", "0.03")  # fmt: skip
    yield server
    stop_server(server)


@pytest.fixture(scope="module")
def client(video_server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=video_server.base_url, api_key="EMPTY", max_retries=0, timeout=120)


def _data_url(path: Path) -> str:
    return f"data:video/mp4;base64,{base64.b64encode(path.read_bytes()).decode()}"


def _video_part(path: Path, **options: object) -> dict:
    return {"type": "video_url", "video_url": {"url": _data_url(path)}, **options}


def _local_count(path: Path, *, video_first: bool = False, **options: object):
    """vlkit's own count of the same request on the same tiny checkpoint, in this process."""
    from vlkit.models import ChatQwenVL

    llm = ChatQwenVL(model=tiny("qwen2_vl"))
    parts = [{"type": "text", "text": PROMPT}, {"type": "video", "path": str(path), **options}]
    message = HumanMessage(content=parts[::-1] if video_first else parts)
    return llm.backend_impl.count_tokens(llm.generation_request([message]))


def test_a_video_url_data_url_is_answered_with_its_video_tokens(
    client: openai.OpenAI, video_server: Server, clips: dict[str, Path]
) -> None:
    before = video_server.metric("vlkit_video_tokens_total")
    reply = client.chat.completions.create(
        model=MODEL_NAME, max_tokens=4,
        messages=[{"role": "user", "content": [{"type": "text", "text": PROMPT}, _video_part(clips["small"])]}],
    )  # fmt: skip
    expected = _local_count(clips["small"])
    assert isinstance(reply.choices[0].message.content, str) and reply.usage.completion_tokens <= 4
    details = reply.usage.prompt_tokens_details
    assert details.model_extra["video_tokens"] == expected.video_tokens > 0 and details.image_tokens == 0
    assert reply.usage.prompt_tokens == expected.prompt_tokens
    assert video_server.metric("vlkit_video_tokens_total") - before == expected.video_tokens  # /metrics counts them


def test_streaming_usage_and_sampling_options(client: openai.OpenAI, clips: dict[str, Path]) -> None:
    stream = client.chat.completions.create(
        model=MODEL_NAME, max_tokens=3, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": [{"type": "text", "text": PROMPT},
                                               _video_part(clips["small"], fps=1, max_frames=2)]}],
    )  # fmt: skip
    chunks = list(stream)
    usage = chunks[-1].usage
    expected = _local_count(clips["small"], fps=1, max_frames=2)
    assert expected.videos[0].frames == 2
    assert usage.prompt_tokens_details.model_extra["video_tokens"] == expected.video_tokens
    assert usage.prompt_tokens == expected.prompt_tokens


def test_a_video_over_the_size_limit_is_a_400(client: openai.OpenAI, clips: dict[str, Path]) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=MODEL_NAME, max_tokens=2,
            messages=[{"role": "user", "content": [_video_part(clips["large"]), {"type": "text", "text": PROMPT}]}],
        )  # fmt: skip
    error = caught.value.body
    assert "--max-video-mb" in error["message"] and error["param"] == "messages.0.content.0.video_url.url"


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ({"role": "system", "content": [{"type": "video_url", "video_url": {"url": "data:video/mp4;base64,AAAA"}}]},
         "videos are accepted in user messages"),
        ({"role": "user", "content": [{"type": "video_url", "video_url": {"url": "https://example.com/a.mp4"}}]},
         "--allow-url-fetch"),
        ({"role": "user", "content": [{"type": "video_url", "video_url": {"url": "data:video/mp4;base64,bm90IGEgdmlkZW8="}}]},
         "not a readable video"),
    ],
    ids=["system-message", "url-without-fetch", "not-a-video"],
)  # fmt: skip
def test_bad_videos_are_400s_that_say_why(client: openai.OpenAI, message: dict, words: str) -> None:
    with pytest.raises(openai.BadRequestError, match=words):
        client.chat.completions.create(model=MODEL_NAME, max_tokens=2, messages=[message])


def test_vlkits_openai_backend_sends_the_video_to_the_server(video_server: Server, clips: dict[str, Path]) -> None:
    from vlkit.models import ChatQwenVL

    llm = ChatQwenVL(backend="openai", base_url=video_server.base_url, model=MODEL_NAME, max_tokens=3, max_retries=0)
    result = llm.invoke([HumanMessage(content=[{"type": "text", "text": PROMPT}, {"type": "video", "path": str(clips["small"])}])])
    expected = _local_count(clips["small"])
    assert result.response_metadata["video_tokens"] == expected.video_tokens
    assert result.usage_metadata["input_tokens"] == expected.prompt_tokens
    assert result.usage_metadata["input_token_details"]["video"] == expected.video_tokens


# --------------------------------------------------------------------------- the web UI's upload


async def test_the_ui_sends_an_uploaded_video_as_a_video(tmp_path: Path, clips: dict[str, Path]) -> None:
    pytest.importorskip("gradio")
    from vlkit.models import ChatQwenVL
    from vlkit.serve.app import ServeConfig, create_app
    from vlkit.serve.engine import Engine
    from vlkit.serve.kb import KnowledgeBase
    from vlkit.serve.ui import build_ui

    llm = ChatQwenVL(model=tiny("qwen2_vl"), max_tokens=2)
    engine = Engine(llm, name=MODEL_NAME)
    app = create_app(engine, ServeConfig(max_concurrency=1, queue=2))
    demo = build_ui(app, engine, kb=KnowledgeBase(tmp_path / "kb", llm, temporary=True))
    respond = next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "respond")
    chat = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "vlkit-chat")
    updates = [u async for u in respond({"text": PROMPT, "files": [str(clips["small"])]}, [], [], "", 2, 0.0, 256, "Describe")]
    final = updates[-1]
    history = next(v for v in final.values() if isinstance(v, list) and v and isinstance(v[0], dict) and "videos" in v[0])
    assert history[0]["videos"] == [str(clips["small"])] and history[0]["images"] == []
    assert not final[chat][-1]["content"].startswith("⚠"), final[chat][-1]
    # the request the server ran held the video: /metrics counted its tokens as vlkit counts them here (the
    # UI's budget of 256 tokens a frame is the CPU default, so the frames are sampled alike)
    expected = _local_count(clips["small"], video_first=True)
    metrics = dict(line.split() for line in app.state.metrics.render().splitlines() if line.startswith("vlkit_") and "{" not in line)
    assert float(metrics["vlkit_video_tokens_total"]) == expected.video_tokens > 0
    assert float(metrics["vlkit_prompt_tokens_total"]) == expected.prompt_tokens
