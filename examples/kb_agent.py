#!/usr/bin/env python
"""Document Q&A with citations: an agent that searches a knowledge base, reads the cited pages (text
and page images) and answers with [file p.N] citations.

    python examples/kb_agent.py --tiny qwen2_vl              # offline: a demo manual, tiny random weights
    python examples/kb_agent.py "How often must API keys be rotated?"        # Qwen2-VL-2B-Instruct
    python examples/kb_agent.py --index kb/ "..."            # your own index (vlkit kb add FILES --index kb/)
    python examples/kb_agent.py --backend openai --base-url http://127.0.0.1:8000/v1 --model NAME --family qwen2_vl

Without --index the example writes a three-page demo manual (PDF) and indexes it in a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import make_llm, model_arguments, print_summary, run_streamed  # noqa: E402

QUESTION = "How often must API keys be rotated, and where is it done?"
SYSTEM = (
    "You answer questions from the user's documents. Search the knowledge base first, read the pages it "
    "returns (text and images), then call final_answer with the answer and the citations of the pages "
    "you used, written exactly as [file p.N]. If the pages do not answer the question, say so."
)
MANUAL = [
    ("Backups", ["Backups run nightly at 02:00 and are kept for 30 days.", "Restore them from the admin console."]),
    ("API keys", ["Rotate each API key every 90 days in Settings > Security.", "Old keys stop working at once."]),
    ("Printers", ["The third-floor printer needs a badge to release jobs.", "Toner is in the supply room."]),
]


def write_demo_manual(path: Path) -> Path:
    import pymupdf

    doc = pymupdf.open()
    for heading, lines in MANUAL:
        page = doc.new_page()
        page.insert_text((72, 90), heading, fontsize=22)
        for i, line in enumerate(lines):
            page.insert_text((72, 130 + 22 * i), line, fontsize=12)
    doc.save(path)
    return path


def run(llm: Any, index: Any, question: str, *, max_steps: int = 6) -> Any:
    from vlkit.agents import KnowledgeBaseTool, create_vlm_agent, run_summary

    kb = KnowledgeBaseTool(index=index, k=3, max_images=1)
    agent = create_vlm_agent(llm, [kb], system_prompt=SYSTEM, max_steps=max_steps)
    return run_summary(run_streamed(agent, question))


def main(argv: list[str] | None = None) -> Any:
    from vlkit.retrieval import DocumentIndex

    parser = model_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]), max_steps=6)
    parser.add_argument("question", nargs="?", default=QUESTION)
    parser.add_argument("--index", type=Path, help="a knowledge-base folder (default: a demo manual)")
    args = parser.parse_args(argv)
    llm = make_llm(args)
    with tempfile.TemporaryDirectory() as tmp:
        if args.index:
            index = DocumentIndex(args.index)
        else:
            index = DocumentIndex(Path(tmp) / "kb", dpi=72)
            index.add([write_demo_manual(Path(tmp) / "manual.pdf")])
        try:
            summary = run(llm, index, args.question, max_steps=args.max_steps)
        finally:
            index.close()
    print_summary(summary)
    return summary


if __name__ == "__main__":
    main()
