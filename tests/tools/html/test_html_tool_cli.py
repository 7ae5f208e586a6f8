"""`vlkit html` end to end: real tiny checkpoints of all three families, real Chromium and OCR, offline.

Named to run after the score tests: a session run then finds most pages' OCR already cached."""

from __future__ import annotations

import json

import pytest
from PIL import Image

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def small_shot(tmp_path_factory, pages, chromium):
    from vlkit.tools.render import render_html

    path = tmp_path_factory.mktemp("cli") / "login.png"
    render_html(pages["login"], 640, 400).save(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_tiny_checkpoint_runs_end_to_end(vlkit_cli, small_shot, tmp_path, family) -> None:
    out = tmp_path / "site" / "page.html"
    run = vlkit_cli("html", small_shot, "-o", out, "--rounds", "2", "--tiny", family, "--max-tokens", "24")
    assert run.code == 0, run.err
    assert "random" in run.err and "noise" in run.err  # says its output is random
    assert "round 1:" in run.err  # per-round progress
    html = out.read_text()
    assert html.lstrip().lower().startswith("<!doctype html>")
    render = Image.open(out.with_name("page.render.png"))
    compare = Image.open(out.with_name("page.compare.png"))
    assert render.size == (640, 400)
    assert compare.width > 3 * 640 and compare.height >= 400  # screenshot | render | heat-map
    assert "score" in run.out and "page.compare.png" in run.out


def test_compare_path_and_scripted_rounds_print_scores(vlkit_cli, small_shot, tmp_path, pages, monkeypatch) -> None:
    # the CLI's own wiring with a model that answers a real page: round scores printed, --compare honoured
    from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
    from langchain_core.messages import AIMessage

    import vlkit.cli._html as cli_html
    from vlkit.vision import FAMILIES, visual_budget

    class QwenLikeFake(FakeMessagesListChatModel):  # implements vlkit.vision.VisionFacts, as ChatQwenVL does
        def family_spec(self):  # the tool reads the family from it
            return FAMILIES["qwen2_vl"]

        def visual_budget(self, family=None):
            return visual_budget(family or self.family_spec(), "cpu")

    answer = AIMessage(f"```html\n{pages['login']}\n```")
    monkeypatch.setattr(cli_html, "_build_model", lambda *a: QwenLikeFake(responses=[answer]))
    side = tmp_path / "pics" / "side.png"
    run = vlkit_cli("html", small_shot, "-o", tmp_path / "p.html", "--compare", side, "--rounds", "2")
    assert run.code == 0, run.err
    assert "round 1: score 1.000" in run.err
    assert side.is_file() and not (tmp_path / "p.compare.png").exists()
    assert (tmp_path / "p.html").read_text() == pages["login"].strip()


def test_eval_baseline_prints_each_term_mean(vlkit_cli, tmp_path) -> None:
    folder = tmp_path / "set"
    run = vlkit_cli("html", "eval", folder, "--generate", "--baseline", "--json", tmp_path / "terms.json")
    assert run.code == 0, run.err
    for label in ("total", "block match", "text", "position", "text colour", "layout (SSIM)", "colours (histogram)"):
        assert label in run.out
    rows = json.loads((tmp_path / "terms.json").read_text())
    assert set(rows) == {"dashboard", "landing", "login", "news_zh", "pricing", "settings_zh"}
    assert all(r["total"] >= 0.99 for r in rows.values())  # a reference renders like its own screenshot
    assert len(list(folder.glob("*.png"))) == 6 and len(list(folder.glob("*.html"))) == 6


def test_eval_of_an_empty_folder_says_what_to_do(vlkit_cli, tmp_path) -> None:
    run = vlkit_cli("html", "eval", tmp_path, "--baseline")
    assert run.code == 2 and "--generate" in run.err


def test_help_names_both_commands(vlkit_cli) -> None:
    run = vlkit_cli("html", "--help")
    assert run.code == 0 and "convert" in run.out and "eval" in run.out and "SHOT.png" in run.out


@pytest.mark.slow
def test_eval_with_a_tiny_model_scores_its_pages(vlkit_cli, small_shot, tmp_path, pages) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "login.png").write_bytes(small_shot.read_bytes())
    (folder / "login.html").write_text(pages["login"])
    run = vlkit_cli("html", "eval", folder, "--tiny", "qwen2_5_vl", "--rounds", "1", "--max-tokens", "16", "--json", tmp_path / "t.json")
    assert run.code == 0, run.err
    assert "model pages over 1 page" in run.out and "noise" in run.err
    total = json.loads((tmp_path / "t.json").read_text())["login"]["total"]
    assert 0.0 <= total < 0.9  # random text is not the sign-in page
