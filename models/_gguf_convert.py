"""Runs llama.cpp's ``convert_hf_to_gguf.py`` (a script) as ``python -m vlkit.models._gguf_convert DIR ARGS``.

Two things differ from running the script directly, both for checkpoints smaller than any published one
(the tiny random checkpoints vlkit's tests convert); a published checkpoint converts exactly as with the
script:

* a byte-level BPE tokenizer whose pre-tokenizer is exactly Qwen2's (the same split pattern) but whose
  vocabulary llama.cpp has not hashed is written as ``qwen2`` (the converter recognises tokenizers by
  hashing the ids they give a probe text, so a new vocabulary over the same pre-tokenizer is refused);
* the vision tensor-name map covers at least 4 blocks, since the merger's ``mlp.2`` is looked up as a
  block index and a 2-block test tower would not map it.
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

QWEN2_SPLIT = (
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
)


def _pre_tokenizer_is_qwen2(folder: Path) -> bool:
    path = folder / "tokenizer.json"
    if not path.is_file():
        return False
    pre = json.loads(path.read_text(encoding="utf-8")).get("pre_tokenizer") or {}
    parts = pre.get("pretokenizers", [pre])
    splits = [p.get("pattern", {}).get("Regex") for p in parts if p.get("type") == "Split"]
    return splits == [QWEN2_SPLIT]


def main() -> None:
    converter = Path(sys.argv[1])
    model = Path(sys.argv[2])
    sys.argv = [str(converter / "convert_hf_to_gguf.py"), *sys.argv[2:]]
    sys.path.insert(0, str(converter))
    sys.path.insert(1, str(converter / "gguf-py"))
    import gguf  # llama.cpp's gguf-py, on the path just set
    from conversion import base

    name_map = gguf.get_tensor_name_map

    def get_tensor_name_map(arch, n_blocks):  # type: ignore[no-untyped-def]
        return name_map(arch, max(n_blocks, 4) if arch == gguf.MODEL_ARCH.MMPROJ else n_blocks)

    gguf.get_tensor_name_map = get_tensor_name_map

    recognise = base.TextModel.get_vocab_base_pre

    def get_vocab_base_pre(self, tokenizer) -> str:  # type: ignore[no-untyped-def]
        try:
            return recognise(self, tokenizer)
        except NotImplementedError:
            if _pre_tokenizer_is_qwen2(model):
                return "qwen2"
            raise

    base.TextModel.get_vocab_base_pre = get_vocab_base_pre
    runpy.run_path(str(converter / "convert_hf_to_gguf.py"), run_name="__main__")


if __name__ == "__main__":
    main()
