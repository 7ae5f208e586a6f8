"""Rebuild the dev set's PDFs from Debian documentation packages (``apt-get download``, no other network).

The dev set is four real English manuals (511 pages) with hand-written, page-labelled questions in
``questions.jsonl``. The PDFs are not shipped: this script fetches the package versions pinned in
``manifest.json``, extracts each PDF from its ``.deb`` (``dpkg-deb -x``; the FAQ's is gzipped) and
checks it against the manifest (sha256, page count). If Debian no longer carries a pinned version it
falls back to the current one with a warning, and then checks every question's ``evidence`` string
against its first labelled page, so moved pages are reported instead of silently skewing the scores.

Usage::

    python benchmarks/devset/build.py                      # all four → ~/.cache/vlkit/devset/pdfs/
    python benchmarks/devset/build.py --only debian-faq --out /tmp/faq
    vlkit kb add ~/.cache/vlkit/devset/pdfs --index /tmp/devkb
    vlkit kb eval benchmarks/devset/questions.jsonl --index /tmp/devkb

Exit status: 0 built and verified, 1 built but some labels no longer match (warned), 2 error.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vlkit.errors import UserError
from vlkit.extras import require

__all__ = ["BuildResult", "DevsetError", "Document", "build", "check_evidence", "load_manifest", "main"]

logger = logging.getLogger("devset")

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
QUESTIONS = HERE / "questions.jsonl"
DEFAULT_OUT = Path("~/.cache/vlkit/devset/pdfs")


class DevsetError(UserError):
    """The dev set cannot be rebuilt here (no apt-get, package not found, unexpected .deb layout)."""


@dataclass(frozen=True)
class Document:
    """One manifest entry: which package version holds which PDF, and what it must look like."""

    package: str
    version: str
    member: str
    """Path of the PDF inside the .deb (``.gz`` if Debian compresses it)."""
    file: str
    """File name it is written as (the name questions.jsonl labels)."""
    sha256: str
    pages: int
    license: str = ""


@dataclass
class BuildResult:
    """What one document's build found."""

    document: Document
    path: Path
    version: str
    sha256: str
    pages: int
    downloaded: bool

    @property
    def matches_manifest(self) -> bool:
        return self.sha256 == self.document.sha256 and self.pages == self.document.pages

    def as_dict(self) -> dict[str, object]:
        return {"package": self.document.package, "version": self.version, "file": self.document.file,
                "sha256": self.sha256, "pages": self.pages, "matches_manifest": self.matches_manifest}


def load_manifest(path: Path = MANIFEST) -> list[Document]:
    """The documents of the dev set, in manifest order."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["documents"]
        return [Document(**row) for row in rows]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DevsetError(f"{path} is not a dev-set manifest ({exc}); restore it from git") from None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _page_count(path: Path) -> int:
    pymupdf = require("pymupdf", "kb", "to count the dev set's PDF pages")
    with pymupdf.open(path) as doc:
        return doc.page_count


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    logger.debug("$ %s", " ".join(cmd))
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)


class _Apt:
    """``apt-get download`` with the two fallbacks: refresh missing lists once, then an unpinned version."""

    def __init__(self) -> None:
        if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
            raise DevsetError("apt-get and dpkg-deb are needed to fetch the dev set's Debian packages; "
                              "run this on Debian or Ubuntu (or in a debian:bookworm container)")
        self.updated = False

    def _update(self, cwd: Path) -> None:
        logger.info("package lists missing or stale: running apt-get update")
        res = _run(["apt-get", "update"], cwd)
        self.updated = True
        if res.returncode:
            raise DevsetError(f"apt-get update failed ({_last_line(res.stderr)}); run it as root, or check "
                              "that deb.debian.org is reachable")

    def download(self, doc: Document, cwd: Path) -> Path:
        """Download ``doc.package`` (pinned version if Debian still has it) into ``cwd``; return the .deb."""
        for spec in (f"{doc.package}={doc.version}", doc.package):
            res = _run(["apt-get", "download", spec], cwd)
            if res.returncode and not self.updated and _lists_missing(res.stderr):
                self._update(cwd)
                res = _run(["apt-get", "download", spec], cwd)
            if res.returncode == 0:
                debs = sorted(cwd.glob(f"{doc.package}_*.deb"))
                if debs:
                    if spec == doc.package:
                        logger.warning("%s %s is no longer in the archive; fetched the current version (%s) — "
                                       "labels are checked against it below", doc.package, doc.version,
                                       debs[0].name.split("_")[1])
                    return debs[0]
            logger.info("apt-get download %s: %s", spec, _last_line(res.stderr))
        raise DevsetError(f"apt-get cannot download {doc.package} ({_last_line(res.stderr)}); add a Debian "
                          "main source to /etc/apt/sources.list and run apt-get update")


def _lists_missing(stderr: str) -> bool:
    return bool(re.search(r"Unable to locate package|has no installation candidate|Can't select", stderr))


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if not line.startswith("W: Download is performed unsandboxed")]
    return lines[-1] if lines else "no output"


def _extract(deb: Path, doc: Document, out: Path, tmp: Path) -> None:
    root = tmp / "root"
    res = _run(["dpkg-deb", "-x", str(deb), str(root)], tmp)
    if res.returncode:
        raise DevsetError(f"dpkg-deb cannot unpack {deb.name} ({_last_line(res.stderr)}); delete it and run again")
    src = root / doc.member
    if not src.is_file():
        pdfs = sorted(str(p.relative_to(root)) for p in root.rglob("*.pdf*"))
        raise DevsetError(f"{deb.name} has no {doc.member} (PDFs in it: {', '.join(pdfs) or 'none'}); "
                          "update 'member' in benchmarks/devset/manifest.json")
    part = out.with_suffix(".part")
    with (gzip.open(src, "rb") if src.suffix == ".gz" else src.open("rb")) as fin, part.open("wb") as fout:
        shutil.copyfileobj(fin, fout)
    part.replace(out)


def build(out: Path = DEFAULT_OUT, only: list[str] | None = None, *, force: bool = False,
          manifest: Path = MANIFEST) -> list[BuildResult]:
    """Fetch and extract the manifest's documents (those of ``only`` packages) into ``out``.

    A PDF already in ``out`` whose sha256 matches the manifest is kept (no download) unless ``force``.
    """
    docs = load_manifest(manifest)
    if only:
        unknown = sorted(set(only) - {d.package for d in docs})
        if unknown:
            raise DevsetError(f"unknown package(s) {', '.join(unknown)}; the dev set has: "
                              f"{', '.join(d.package for d in docs)}")
        docs = [d for d in docs if d.package in only]
    out = out.expanduser()
    out.mkdir(parents=True, exist_ok=True)
    apt: _Apt | None = None
    results = []
    for n, doc in enumerate(docs, start=1):
        path = out / doc.file
        version, downloaded = doc.version, False
        if force or not path.is_file() or _sha256(path) != doc.sha256:
            apt = apt or _Apt()
            logger.info("[%d/%d] %s %s: downloading", n, len(docs), doc.package, doc.version)
            with tempfile.TemporaryDirectory(prefix="vlkit-devset-") as tmp:
                deb = apt.download(doc, Path(tmp))
                version = deb.name.split("_")[1]
                _extract(deb, doc, path, Path(tmp))
            downloaded = True
        result = BuildResult(doc, path, version, _sha256(path), _page_count(path), downloaded)
        state = "ok" if result.matches_manifest else "DIFFERS from the manifest"
        logger.info("[%d/%d] %s %s → %s: %d pages, sha256 %s… %s%s", n, len(docs), doc.package, version, path,
                    result.pages, result.sha256[:12], state, "" if downloaded else " (already there)")
        results.append(result)
    return results


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def check_evidence(results: list[BuildResult], questions: Path = QUESTIONS) -> list[str]:
    """Questions about the built files whose ``evidence`` is not on their first labelled page.

    Empty when the labels still hold (always, for PDFs that match the manifest's sha256).
    """
    pymupdf = require("pymupdf", "kb", "to check the dev set's labels")
    built = {r.document.file: r.path for r in results}
    texts: dict[str, list[str]] = {}
    problems = []
    for n, line in enumerate(questions.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row["file"] not in built or not row.get("evidence"):
            continue
        if row["file"] not in texts:
            with pymupdf.open(built[row["file"]]) as doc:
                texts[row["file"]] = [_norm(page.get_text()) for page in doc]
        pages, page = texts[row["file"]], row["pages"][0]
        if page > len(pages) or _norm(row["evidence"]) not in pages[page - 1]:
            found = [i for i, text in enumerate(pages, start=1) if _norm(row["evidence"]) in text]
            problems.append(f"{questions.name}:{n}: {row['file']} p.{page} no longer holds {row['evidence']!r}"
                            f" (now on page(s) {found or 'none'}): {row['question']}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks/devset/build.py",
        description="Download the dev set's Debian documentation packages (pinned versions, apt-get download), "
                    "extract their PDFs into --out and check them against manifest.json and the questions' "
                    "evidence. Needs apt-get and dpkg-deb (Debian/Ubuntu); about 3.4 MB is downloaded.",
        epilog="Then: vlkit kb add OUT --index /tmp/devkb && "
               "vlkit kb eval benchmarks/devset/questions.jsonl --index /tmp/devkb")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="Folder the PDFs are written to (default: %(default)s).")
    parser.add_argument("--only", action="append", metavar="PKG",
                        help="Build only this package (repeatable): "
                             + ", ".join(d.package for d in load_manifest()) + ".")
    parser.add_argument("--force", action="store_true", help="Download again even if a matching PDF is in --out.")
    parser.add_argument("--questions", type=Path, default=QUESTIONS,
                        help="Question file whose evidence strings are checked (default: the dev set's).")
    parser.add_argument("--json", action="store_true", help="Print what was built as JSON on stdout.")
    parser.add_argument("-v", "--verbose", action="store_true", help="Log the commands run.")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    try:
        results = build(args.out, args.only, force=args.force)
        problems = check_evidence(results, args.questions)
    except UserError as exc:
        logger.error("%s", exc)
        return 2
    for r in results:
        if not r.matches_manifest:
            logger.warning("%s %s differs from the pinned %s (sha256/pages); labels checked below",
                           r.document.file, r.version, r.document.version)
    for p in problems:
        logger.warning("%s", p)
    if problems:
        logger.warning("%d question(s) point at pages that moved: Debian ships a different version than the one "
                       "the labels were written on; scores on this build are not comparable", len(problems))
    else:
        logger.info("%d PDF(s), %d pages in %s; every question's evidence is on its labelled page",
                    len(results), sum(r.pages for r in results), args.out.expanduser())
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
