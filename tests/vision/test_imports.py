"""vlkit.vision loads its names lazily: the Qwen facts (families, budgets, token costs) do not import PIL."""

from __future__ import annotations

import subprocess
import sys


def _imported_after(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & {{'PIL', 'httpx'}}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return eval(result.stdout.strip())  # noqa: S307 (our own print of a list of names)


def test_the_family_facts_import_without_pil() -> None:
    assert _imported_after("import vlkit.vision.families, vlkit.vision.resize, vlkit.vision.facts") == []
    assert _imported_after("from vlkit.vision import FAMILIES, smart_resize, vision_facts") == []


def test_the_image_loader_brings_pil_when_asked_for() -> None:
    assert _imported_after("from vlkit.vision import open_image") == ["PIL"]


def test_fetch_is_the_function_even_after_its_module_is_imported() -> None:
    """``fetch`` shares its module's name; importing the module must not replace the package's function."""
    import vlkit.vision.fetch  # noqa: F401
    from vlkit.vision import fetch

    assert callable(fetch) and fetch.__module__ == "vlkit.vision.fetch" and fetch.__name__ == "fetch"
