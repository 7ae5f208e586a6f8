"""``vlkit serve``: an OpenAI-compatible API and a web UI for one Qwen-VL model, in one process."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from vlkit.cli.llm import Family, build_llm
from vlkit.cli._console import err_console

__all__ = ["serve"]


def serve(
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Hugging Face id, local checkpoint folder, or a folder made by `vlkit export` (served with llama.cpp) (default: $VLKIT_MODEL, else Qwen/Qwen2-VL-2B-Instruct).")] = None,
    tiny: Annotated[Optional[Family], typer.Option(help="Serve a tiny RANDOM checkpoint of this family (offline check; answers are noise).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 exposes the server to the network (set --api-key).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: a free one, printed at start-up).")] = 8000,
    api_key: Annotated[Optional[str], typer.Option(envvar="VLKIT_SERVE_API_KEY", help="Require 'Authorization: Bearer KEY' on /v1 (and the key as the UI password).")] = None,
    max_concurrency: Annotated[int, typer.Option(min=1, help="Generations at once.")] = 1,
    queue: Annotated[int, typer.Option(min=0, help="Requests that may wait for a slot; more get 429 with Retry-After.")] = 16,
    index: Annotated[Optional[Path], typer.Option(help="Existing document index to serve (build one with: vlkit kb add FILES --index DIR) for /v1/kb/search, /v1/kb/ask and the Documents tab. Without it, uploads in the Documents tab go into a temporary index that the server names at start-up and deletes when it stops.")] = None,
    chroma_url: Annotated[Optional[str], typer.Option(help="Chroma server for --index instead of the embedded store.")] = None,
    allow_url_fetch: Annotated[bool, typer.Option(help="Fetch http(s) image and video URLs (public addresses only, size and time limited).")] = False,
    url_fetch_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds one image URL may take.")] = 10.0,
    url_fetch_max_mb: Annotated[float, typer.Option(min=0.01, help="Largest image download in MiB.")] = 16.0,
    max_body_mb: Annotated[float, typer.Option(min=0.01, help="Largest request body in MiB (413 beyond).")] = 32.0,
    max_video_mb: Annotated[float, typer.Option(min=0.001, help="Largest video in a request (a video_url data URL, or a download with --allow-url-fetch) in MiB; larger is a 400. A data URL also counts against --max-body-mb.")] = 16.0,
    max_model_len: Annotated[Optional[int], typer.Option(min=16, help="Context length to enforce [default: the model's].")] = None,
    max_tokens: Annotated[int, typer.Option(min=1, help="Default max_tokens when a request gives none.")] = 512,
    max_pixels: Annotated[Optional[int], typer.Option(min=1, help="Default visual budget per image in pixels.")] = None,
    served_model_name: Annotated[Optional[str], typer.Option(help="Model name clients send [default: --model, or vlkit-tiny-FAMILY].")] = None,
    ui: Annotated[bool, typer.Option(help="Mount the Gradio web UI at / (needs vlkit[ui]).")] = True,
    device: Annotated[Optional[str], typer.Option(help="cuda, cpu or mps (default: best available).")] = None,
    dtype: Annotated[Optional[str], typer.Option(help="bfloat16, float16 or float32 (default: auto).")] = None,
) -> None:
    """Serve a Qwen-VL model over an OpenAI-compatible HTTP API, with a web UI at /.

    Point the openai client, LangChain's ChatOpenAI or ChatQwenVL(backend="openai") at
    http://HOST:PORT/v1. Endpoints: POST /v1/chat/completions, GET /v1/models, GET /health, GET /metrics,
    POST /v1/kb/search and /v1/kb/ask (on --index, else on the temporary index). Ctrl-C or SIGTERM stops
    it: running generations are cancelled and the process exits with status 0.

    Examples:

      vlkit serve --model Qwen/Qwen2-VL-2B-Instruct --port 8000

      vlkit serve --tiny qwen2_vl --port 8001 --no-ui          # offline check, random answers

      vlkit serve --index kb/ --api-key "$KEY" --max-concurrency 2 --queue 32
    """
    from vlkit.extras import require

    require("uvicorn", "serve", "vlkit serve")
    from vlkit.serve.app import ServeConfig, create_app
    from vlkit.serve.engine import Engine
    from vlkit.serve.fetch import UrlFetcher
    from vlkit.serve.server import listen, run

    logging.getLogger("vlkit.serve").setLevel(logging.INFO)
    sock = listen(host, port)  # before anything loads: a port in use costs nothing
    scratch = None
    try:
        documents = None
        if index is not None:  # like `vlkit kb search`: a missing index is refused, not created empty
            from vlkit.cli._kb import open_index

            with err_console.status(f"opening index {index}"):
                documents = open_index(index, chroma_url)
        else:
            scratch = Path(tempfile.mkdtemp(prefix="vlkit-serve-kb-"))
        name = served_model_name
        if tiny is not None:
            name = name or f"vlkit-tiny-{tiny.value}"
        llm = build_llm(model=model, tiny=tiny, device=device, dtype=dtype, max_tokens=max_tokens,
                        max_pixels=max_pixels, noise="the server is real, the answers are noise")  # fmt: skip
        fetcher = UrlFetcher(max_bytes=int(url_fetch_max_mb * 2**20), timeout=url_fetch_timeout) if allow_url_fetch else None
        engine = Engine(llm, name=name or llm.model, max_model_len=max_model_len, fetcher=fetcher,
                        max_video_bytes=int(max_video_mb * 2**20))  # fmt: skip
        with err_console.status(f"loading {llm.model}"):
            engine.load()
        from vlkit.serve.kb import KnowledgeBase

        kb = KnowledgeBase(documents if documents is not None else scratch, llm, chroma_url=chroma_url,
                           temporary=scratch is not None)  # fmt: skip
        config = ServeConfig(api_key=api_key, max_concurrency=max_concurrency, queue=queue,
                             max_body_bytes=int(max_body_mb * 2**20))  # fmt: skip
        app = create_app(engine, config, kb=kb)
        runner = app.state.runner
        if ui:
            from vlkit.serve.ui import mount_ui

            app = mount_ui(app, engine, kb=kb, api_key=api_key)
        bound = sock.getsockname()
        address = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        err_console.print(f"serving {name or llm.model} on http://{address}:{bound[1]}  (API /v1{', UI /' if ui else ''})",
                          highlight=False, markup=False, soft_wrap=True)  # fmt: skip
        if scratch is not None:
            err_console.print(f"documents: a temporary index at {scratch} (deleted when the server stops; "
                              "--index DIR serves a kept one)", highlight=False, markup=False, soft_wrap=True)  # fmt: skip
        else:
            err_console.print(f"documents: index {index}", highlight=False, markup=False, soft_wrap=True)
        run(app, sock, runner)
        if not engine.join(timeout=10.0):
            logging.getLogger("vlkit.serve").warning("a generation did not stop within 10 s of the shutdown")
    finally:
        sock.close()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
