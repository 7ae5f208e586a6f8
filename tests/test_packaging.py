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
    "vlkit.models": ["Backend", "ChatQwenVL", "Delta", "GenerationRequest", "ImageCount", "TokenCount", "Usage", "VideoCount"],
    "vlkit.models.machine": [
        "CpuInfo", "Defaults", "KEY_FLAGS", "MachineFacts", "RUNTIMES", "choose_defaults", "default_threads",
        "machine_facts", "memory_bandwidth", "parse_cpuinfo", "physical_cores", "unset_thread_counts",
    ],
    "vlkit.vision": [
        "FAMILIES", "FamilySpec", "ImageInput", "ImageLimits", "MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS",
        "ModelVisionFacts", "VisionFacts", "afetch", "family_for_model_type", "family_named", "family_of_folder",
        "fetch", "image_from_block", "image_size", "image_tokens", "is_image_block", "is_public_address",
        "open_image", "pixels_for_tokens", "resized_size", "smart_resize", "vision_facts", "visual_budget",
    ],
    "vlkit.testing": ["TINY_FAMILIES", "build_tiny_checkpoint", "tiny_checkpoint", "tiny_export"],
    "vlkit.models.export": ["GGUF_QUANTS", "MMPROJ_QUANTS", "export_model", "llama_cpp_source"],
    "vlkit.models.exported": ["MANIFEST", "ExportManifest", "is_gguf_export", "read_manifest"],
    # vlkit.documents and vlkit.retrieval export lazily: __all__ is sorted(_EXPORTS) of their __init__.py
    "vlkit.documents": [
        "AutoReader", "Found", "IMAGE_SUFFIXES", "OCRRouter", "OCRSettings", "OpenedDocument", "PDF_SUFFIXES",
        "PageLines", "PageReader", "READERS", "RapidOCRReader", "SUPPORTED_SUFFIXES", "Source", "SourcePage",
        "TesseractReader", "TextLayerReader", "TextLine", "VLMReader", "discover", "display_name", "encode_png",
        "make_reader", "open_document", "read_source", "render_pdf_page",
    ],
    "vlkit.retrieval": [
        "Answer", "Chunk", "DocumentIndex", "DocumentInfo", "DocumentQA", "Embedder", "FileResult", "HybridSearcher",
        "IngestSummary", "KnowledgeBaseRetriever", "KnowledgeBaseVectorStore", "PageHit", "PageText", "Reranker",
        "SearchableIndex", "SentenceTransformerEmbedder", "USEEmbedder", "VLMReranker", "make_embedder",
    ],
    "vlkit.cli": ["app", "main"],
    # agents and tools export lazily (vlkit.lazy): __all__ is sorted(_EXPORTS) of their __init__.py, the names
    # the README, the examples and vlkit's other packages import; the rest lives in private modules
    "vlkit.agents": [
        "BrowserSession", "KnowledgeBaseTool", "browser_tools", "create_vlm_agent", "file_choices", "run_summary",
        "with_file_choices",
    ],
    "vlkit.tools": [
        "ActionPolicy", "DesktopExecutor", "GUIActionPlanner", "InvoiceExtractor", "PageExecutor", "ScreenshotToHTML",
        "draw_action", "live_page", "render_html", "visual_score",
    ],
    "vlkit.tools.gui": [
        "Action", "ActionPolicy", "DesktopExecutor", "GUIActionPlanner", "PageExecutor", "draw_action", "evaluate",
        "parse_action",
    ],
    "vlkit.tools.html": ["HTMLResult", "ScreenshotToHTML", "TERMS", "visual_score"],
    "vlkit.tools.invoice": [
        "Identifier", "Invoice", "InvoiceExtractor", "InvoiceResult", "IsoDate", "Money", "Quantity", "check_invoice",
        "evaluate_folder", "evaluation_pairs", "is_valid_uscc", "iter_fields", "parse_chinese_amount", "read_pages",
    ],
}  # fmt: skip
"""Exactly the public names of each module: a new export is a decision, made here."""


@pytest.mark.parametrize("module", sorted(PUBLIC_API))
def test_public_api_is_pinned(module: str) -> None:
    imported = __import__(module, fromlist=["__all__"])
    assert list(imported.__all__) == PUBLIC_API[module]
    for name in imported.__all__:
        assert getattr(imported, name) is not None


def test_importing_the_tools_loads_neither_chroma_nor_torch() -> None:
    """``import vlkit.tools`` (and its tools' packages) stays cheap: the knowledge base's vector store and
    torch load only when something uses them."""
    code = (
        "import sys, vlkit.tools, vlkit.tools.invoice, vlkit.tools.html, vlkit.tools.gui, vlkit.documents\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'chromadb', 'torch'}),"
        " sorted(m for m in sys.modules if m.startswith('vlkit.retrieval')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"


LAZY = ["vlkit", "vlkit.models", "vlkit.vision", "vlkit.agents", "vlkit.tools", "vlkit.tools.gui", "vlkit.tools.html",
        "vlkit.tools.invoice", "vlkit.cli"]  # fmt: skip


@pytest.mark.parametrize("module", LAZY)
def test_lazy_names_are_exported_and_listed(module: str) -> None:
    """Every name of a package's lazy table (vlkit.lazy.lazy_exports) is in its __all__ and its dir()."""
    imported = __import__(module, fromlist=["__all__"])
    lazy = set(getattr(imported, "_EXPORTS", {}) or {"app"})  # vlkit.cli builds its one lazy name, app
    assert lazy <= set(imported.__all__) and lazy <= set(dir(imported))
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        imported.not_a_name  # noqa: B018


CHAT_MODEL_PACKAGES = ["vlkit.agents", "vlkit.tools", "vlkit.tools.gui", "vlkit.tools.html", "vlkit.tools.invoice",
                       "vlkit.retrieval"]  # fmt: skip


def _parameters(obj: object) -> set[str]:
    """The parameter names of a public function, or of a class's constructor, pydantic fields and own public
    methods."""
    import inspect

    if not inspect.isclass(obj):
        return set(inspect.signature(obj).parameters) if callable(obj) else set()
    names = set(getattr(obj, "model_fields", {}))
    try:
        names |= set(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        pass
    for attr, member in vars(obj).items():
        if inspect.isfunction(member) and not attr.startswith("_"):
            names |= set(inspect.signature(member).parameters)
    return names


@pytest.mark.parametrize("module", CHAT_MODEL_PACKAGES)
def test_a_chat_model_is_called_model_everywhere(module: str) -> None:
    """One name for the chat model in every public constructor and function (LangChain v1's
    ``create_agent(model=...)``): never ``llm`` or ``chat_model``."""
    imported = __import__(module, fromlist=["__all__"])
    offenders = {
        name: sorted(found)
        for name in imported.__all__
        if (found := _parameters(getattr(imported, name)) & {"llm", "chat_model", "planner_llm"})
    }
    assert offenders == {}


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
        import vlkit, vlkit.vision, vlkit.models, vlkit.agents, vlkit.tools, vlkit.retrieval, vlkit.cli
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
