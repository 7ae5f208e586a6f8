"""Property-based fuzz of the kb CLI (issue 9): random file names and bytes, random queries.

Invariant: the command exits 0 or 1 (2 only with one typed ``error:`` line), prints no traceback, writes
valid UTF-8 (a lone surrogate on a UTF-8 stdout is a crash), and the good file given in the same call is
ingested. Bounded and derandomized so it runs in `.ci/run`; for a longer run set
``VLKIT_FUZZ_EXAMPLES=500`` (see benchmarks/README.md).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.cli.kb_helpers import ZERO_PAGE_PDF, png_bytes, png_header_only

pytestmark = pytest.mark.usefixtures("shared_use")

EXAMPLES = int(os.environ.get("VLKIT_FUZZ_EXAMPLES", "0"))


def fuzz(max_examples: int) -> settings:
    """Bounded, derandomized (a fixed seed), no example database: the same examples on every run.

    The bounded run does not shrink a failure (each example runs whole CLI commands; shrinking one took
    minutes): it reports the example as found, with a blob to reproduce it. A long run shrinks.
    """
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if EXAMPLES else [])
    return settings(max_examples=EXAMPLES or max_examples, deadline=None, derandomize=True, database=None,
                    print_blob=True, phases=phases,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

_NAME_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00")
names = st.one_of(
    st.text(_NAME_CHARS, min_size=1, max_size=24),
    st.binary(min_size=1, max_size=24).filter(lambda b: b"/" not in b and b"\0" not in b).map(os.fsdecode),
    st.sampled_from(["report[final]", "[/b]", "[bold red]x[/]", "a b  c", " lead", "trail ", "中文 文件 [test]",
                     "b_na\udcefve_\udcff", "x" * 240, "é" * 120, "\x1b[31mred", "line\nbreak"]),
)
suffixes = st.sampled_from([".png", ".pdf", ".PDF", ".jpg", ".tif", ".txt", ".gz", ""])
contents = st.one_of(
    st.binary(max_size=1024),
    st.builds(lambda w, h: png_header_only(w, h), st.integers(1, 20_000), st.integers(1, 20_000)),
    st.builds(lambda n: png_bytes()[:n], st.integers(0, 200)),
    st.just(png_bytes()),
    st.just(ZERO_PAGE_PDF),
    st.binary(max_size=512).map(lambda b: b"%PDF-1.7\n" + b + b"\n%%EOF"),
)
files = st.lists(st.tuples(names, suffixes, contents), min_size=1, max_size=4)


def _fs_name(name: str, suffix: str) -> str:
    """The name cut to what a file system takes (255 bytes); a cut inside a character stays as raw bytes."""
    raw = os.fsencode(name.replace("/", "_").replace("\0", "_"))[: 255 - len(suffix)]
    out = os.fsdecode(raw) + suffix
    return "_" + out[1:] if out.startswith(".") else out  # hidden files are skipped by design; keep them seen


def _check(res, allowed: tuple[int, ...]) -> None:
    assert "Traceback" not in res.output, res.output
    res.output.encode("utf-8")  # strict: nothing unprintable reached the terminal
    assert res.code in allowed, res.output
    if res.code == 2:
        lines = [line for line in res.err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), res.err


@fuzz(8)
@given(spec=files, as_arguments=st.booleans())
def test_fuzz_kb_add(vlkit_main, kb_pdf, tmp_path_factory, spec, as_arguments):
    work = Path(tempfile.mkdtemp(dir=tmp_path_factory.getbasetemp()))
    try:
        folder = work / "in"
        folder.mkdir()
        good = shutil.copy(kb_pdf, folder / "good-file.pdf")
        made = [Path(good)]
        for name, suffix, data in spec:
            path = folder / _fs_name(name, suffix)
            if path not in made:
                path.write_bytes(data)
                made.append(path)
        args = [str(p) for p in made] if as_arguments else [str(folder)]
        res = vlkit_main("kb", "add", *args, "--index", work / "kb", "--dpi", "72")
        _check(res, (0, 1))  # 2 would mean one bad file stopped the whole add
        assert re.search(r"good-file\.pdf\s*│\s*added", res.out), res.out
        res = vlkit_main("kb", "list", "--index", work / "kb")
        _check(res, (0,))
        assert re.search(r"good-file\.pdf\s*│\s*3\s*│\s*\d+\s*│\s*complete", res.out), res.out
    finally:
        shutil.rmtree(work, ignore_errors=True)


queries = st.one_of(
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=40),
    st.lists(st.sampled_from(["[/b]", "[/verbatim]", "[bold]", "[/]", "[link=x]", "\\[", "]", "retention",
                              "basalt", "中文", "[report[final].pdf p.1]", " "]), max_size=6).map("".join),
    st.binary(max_size=20).filter(lambda b: b"\0" not in b).map(os.fsdecode),
)


@fuzz(25)
@given(query=queries, k=st.integers(1, 4))
def test_fuzz_kb_search(vlkit_main, kb_index, query, k):
    res = vlkit_main("kb", "search", "--index", kb_index, "-k", str(k), "--", query)
    _check(res, (0, 1, 2))
    if res.code == 0:
        lines = res.out.strip().splitlines()
        assert 1 <= len(lines) <= k
        assert all(re.match(r"\d\.\d{3} \[report\[final\]\.pdf p\.[123]\] ", line) for line in lines), res.out
