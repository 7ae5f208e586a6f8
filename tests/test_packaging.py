"""The distribution's shape, the pinned public API, and imports with no extras installed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PUBLIC_API = {
    "vlkit": ["ChatQwenVL", "errors", "__version__"],
    "vlkit.models": ["ChatQwenVL", "FAMILIES", "FamilySpec", "smart_resize"],
    "vlkit.testing": ["TINY_FAMILIES", "build_tiny_checkpoint", "tiny_checkpoint"],
    # retrieval's current exports as they are (its owner may change them; a change here is a decision)
    "vlkit.retrieval": [
        "Chunk", "PageHit", "PageText", "DocumentIndex", "DocumentInfo", "IngestSummary", "FileResult",
        "Embedder", "SentenceTransformerEmbedder", "PageReader", "SourcePage", "HybridSearcher", "Reranker",
        "VLMReranker", "DocumentQA", "Answer", "KnowledgeBaseRetriever", "KnowledgeBaseVectorStore", "USEEmbedder",
        "make_embedder", "SearchableIndex", "SUPPORTED_SUFFIXES",
    ],
    # vlkit.agents exports lazily too: __all__ is sorted(_EXPORTS) of agents/__init__.py
    "vlkit.agents": [
        "BrowserSession", "FinalAnswerMiddleware", "ImagePruningMiddleware", "KnowledgeBaseTool", "RunSummary",
        "StepLimitMiddleware", "ToolFeedbackMiddleware", "ToolImagesToUserMiddleware", "browser_tools",
        "create_vlm_agent", "move_tool_images", "prune_images", "run_summary",
    ],
    # vlkit.tools exports lazily: __all__ is sorted(_EXPORTS), the names listed in tools/__init__.py
    "vlkit.tools": [
        "Action", "ActionPolicy", "DesktopExecutor", "GUIActionPlanner", "HTMLResult", "Invoice",
        "InvoiceExtractor", "InvoiceResult", "PageExecutor", "ScreenGeometry", "ScreenshotToHTML", "VisualScore",
        "check_invoice", "draw_action", "is_valid_uscc", "live_page", "parse_chinese_amount", "render_html",
        "visual_score",
    ],
}  # fmt: skip
"""Exactly the public names of each module: a new export is a decision, made here."""


@pytest.mark.parametrize("module", sorted(PUBLIC_API))
def test_public_api_is_pinned(module: str) -> None:
    imported = __import__(module, fromlist=["__all__"])
    assert list(imported.__all__) == PUBLIC_API[module]
    for name in imported.__all__:
        assert getattr(imported, name) is not None


def test_tools_all_is_the_lazy_export_table() -> None:
    import vlkit.tools

    assert list(vlkit.tools.__all__) == sorted(vlkit.tools._EXPORTS)


def test_a_clone_in_the_current_folder_that_shadows_the_package_is_named(tmp_path: Path) -> None:
    """Running a script next to a clone folder named vlkit/ imports that folder (a namespace package)."""
    (tmp_path / "vlkit").symlink_to(ROOT, target_is_directory=True)
    result = subprocess.run(
        [sys.executable, "-c", "from vlkit.models import ChatQwenVL"], capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError:") and str(tmp_path / "vlkit") in last and "shadows" in last
    assert "another folder" in last


def test_concern_folders_import_under_vlkit() -> None:
    import vlkit.agents
    import vlkit.models
    import vlkit.retrieval
    import vlkit.tools

    assert Path(vlkit.models.__file__).parent == ROOT / "models"
    assert Path(vlkit.retrieval.__file__).parent == ROOT / "retrieval"


@pytest.mark.slow
def test_wheel_puts_only_vlkit_at_top_level(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("vlkit-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"vlkit", next(t for t in tops if t.endswith(".dist-info"))}
    for sub in ("models", "agents", "tools", "retrieval", "cli", "testing"):
        assert f"vlkit/{sub}/__init__.py" in names
    assert "vlkit/models/backends/transformers.py" in names
    assert any(n.startswith("vlkit/testing/templates/") for n in names), "package data (templates) missing"


def test_imports_without_any_extra() -> None:
    """Simulates a fresh environment with only the base dependencies: every extra's import fails."""
    script = textwrap.dedent(
        """
        import importlib.abc, sys
        BLOCKED = {"torch", "transformers", "chromadb", "fitz", "pymupdf", "openai", "sentence_transformers",
                   "xgrammar", "rapidocr", "onnxruntime", "jieba", "safetensors", "tokenizers", "accelerate"}
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        sys.meta_path.insert(0, Block())
        import vlkit, vlkit.models, vlkit.agents, vlkit.tools, vlkit.retrieval, vlkit.cli
        from vlkit import ChatQwenVL
        from vlkit.errors import MissingExtraError
        for backend, extra in (("transformers", "local"), ("openai", "openai")):
            try:
                ChatQwenVL(backend=backend, model="x/y").invoke("hi")
            except MissingExtraError as exc:
                assert f"vlkit[{extra}]" in str(exc), exc
            else:
                raise SystemExit(f"{backend}: no MissingExtraError")
        print("OK")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("OK")
