"""``python -m vlkit.retrieval.evalset OUT_DIR [--no-scanned]``: write the evaluation documents."""

from __future__ import annotations

import argparse
import json
import sys

from vlkit.retrieval.evalset.generate import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vlkit.retrieval.evalset", description=__doc__)
    parser.add_argument("out_dir", help="folder to write text/, scanned/ and questions.jsonl into")
    parser.add_argument("--no-scanned", action="store_true", help="skip the image-only variant")
    args = parser.parse_args(argv)
    files = generate(args.out_dir, scanned=not args.no_scanned)
    sys.stdout.write(json.dumps({k: str(v) for k, v in files.__dict__.items()}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
