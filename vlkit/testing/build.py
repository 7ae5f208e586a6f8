"""Write a tiny, randomly initialised, complete Qwen-VL checkpoint folder.

The folder holds the files a real Hugging Face checkpoint has (``config.json``,
``model.safetensors``, ``generation_config.json``, ``tokenizer.json``, ``tokenizer_config.json``,
``vocab.json``, ``merges.txt``, ``chat_template.jinja``, ``preprocessor_config.json``, and for Qwen3-VL
``video_preprocessor_config.json``), so code under test loads it only through the public path a real
checkpoint takes::

    folder = build_tiny_checkpoint("qwen3_vl", tmp_path / "tiny")
    model = AutoModelForImageTextToText.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(folder)
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlkit.extras import require
from vlkit.testing._families import TinySpec, family_spec, text_config
from vlkit.testing._tokenizer import ALL_ADDED_TOKENS, train_tokenizer, write_vocab_and_merges

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = ["build_tiny_checkpoint", "load_template", "unspeakable_token_ids"]

logger = logging.getLogger(__name__)

_RNG_LOCK = threading.Lock()

# Images up to this many visual tokens (after the 2x2 merge) keep their size: 448x448 fits for
# every family, and tests on two CPU cores stay fast.
_MAX_VISUAL_TOKENS = 256
_MIN_VISUAL_TOKENS = 4
# The real vocabularies are padded past the tokenizer (151936 > 151669); keep that shape.
_VOCAB_MULTIPLE = 64


def load_template(spec: TinySpec) -> str:
    """Return the family's chat template, shipped verbatim as package data."""
    return resources.files("vlkit.testing.templates").joinpath(spec.template).read_text(encoding="utf-8")


def _require_local_extra() -> None:
    for package in ("torch", "transformers", "tokenizers", "safetensors"):
        require(package, "local", "building tiny test checkpoints")


def _model_config(spec: TinySpec, tokenizer: PreTrainedTokenizerBase) -> Any:
    from transformers import AutoConfig

    ids = dict(zip(ALL_ADDED_TOKENS, tokenizer.convert_tokens_to_ids(list(ALL_ADDED_TOKENS))))
    vocab_size = -(-len(tokenizer) // _VOCAB_MULTIPLE) * _VOCAB_MULTIPLE
    text = {
        **text_config(spec),
        "vocab_size": vocab_size,
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
        "dtype": "float32",
    }
    return AutoConfig.for_model(
        spec.family,
        architectures=[spec.architecture],
        text_config=text,
        vision_config=spec.vision_config(),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
        dtype="float32",
    )


def unspeakable_token_ids(tokenizer: PreTrainedTokenizerBase, vocab_size: int) -> list[int]:
    """Ids greedy decoding of a random model must never pick.

    These are the added tokens (EOS, vision pads, ``<tool_call>`` …), the padding rows past the
    tokenizer, and byte-level tokens that do not decode on their own to visible printable text
    (whitespace runs, newlines, control bytes, partial UTF-8 sequences).
    """
    banned: set[int] = set(tokenizer.convert_tokens_to_ids(list(ALL_ADDED_TOKENS)))
    banned.update(range(len(tokenizer), vocab_size))
    for idx in range(len(tokenizer)):
        if idx in banned:
            continue
        text = tokenizer.decode([idx])
        if not text.strip() or not text.isprintable() or "\ufffd" in text:
            banned.add(idx)
    return sorted(banned)


def _silence_rows(model: PreTrainedModel, banned: list[int]) -> None:
    """Zero the output-projection rows of ``banned`` ids.

    The final hidden state is RMS-normalised and the other rows are random with zero mean, so their
    logits are symmetric around 0 and the largest of ~1000 of them is positive with overwhelming
    probability: a zero logit is then never the argmax. Input embeddings are untied and untouched.
    """
    import torch

    head: torch.nn.Linear = model.get_output_embeddings()
    with torch.no_grad():
        head.weight[banned] = 0.0


def _preprocessor_config(spec: TinySpec) -> dict[str, Any]:
    area = spec.factor * spec.factor
    min_pixels, max_pixels = _MIN_VISUAL_TOKENS * area, _MAX_VISUAL_TOKENS * area
    return {
        "image_processor_type": "Qwen2VLImageProcessor",
        "processor_class": spec.processor_class,
        "do_resize": True,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "do_convert_rgb": True,
        "image_mean": list(spec.image_mean),
        "image_std": list(spec.image_std),
        "min_pixels": min_pixels,
        "max_pixels": max_pixels,
        "size": {"shortest_edge": min_pixels, "longest_edge": max_pixels},
        "patch_size": spec.patch_size,
        "temporal_patch_size": 2,
        "merge_size": spec.merge_size,
    }


def _video_preprocessor_config(spec: TinySpec) -> dict[str, Any] | None:
    """The ``video_preprocessor_config.json`` of families whose real checkpoints ship one (Qwen3-VL), so
    ``AutoVideoProcessor`` picks the family's own class; its ``size`` bounds a whole video, as Qwen3-VL's does."""
    if spec.video_processor is None:
        return None
    area = spec.factor * spec.factor
    return {
        "video_processor_type": spec.video_processor,
        "processor_class": spec.processor_class,
        "do_resize": True,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "do_convert_rgb": True,
        "do_sample_frames": True,
        "image_mean": list(spec.image_mean),
        "image_std": list(spec.image_std),
        "size": {"shortest_edge": _MIN_VISUAL_TOKENS * area, "longest_edge": _MAX_VISUAL_TOKENS * area * 64},
        "patch_size": spec.patch_size,
        "temporal_patch_size": 2,
        "merge_size": spec.merge_size,
        "fps": 2,
        "min_frames": 4,
        "max_frames": 768,
    }


def _generation_config(tokenizer: PreTrainedTokenizerBase) -> Any:
    from transformers import GenerationConfig

    im_end, endoftext = tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    return GenerationConfig(
        bos_token_id=endoftext,
        pad_token_id=endoftext,
        eos_token_id=[im_end, endoftext],
        do_sample=False,
    )


def _seeded_model(config: Any, seed: int) -> PreTrainedModel:
    import torch
    from transformers import AutoModelForImageTextToText

    # Weight init draws from torch's global RNG: the lock keeps builds in concurrent threads from
    # interleaving their draws, and fork_rng leaves the caller's RNG state untouched.
    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
    return model.eval()


@contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """Silence transformers' progress bars while saving; library code writes nothing to the terminal."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def build_tiny_checkpoint(family: str, folder: str | Path, *, seed: int = 0) -> Path:
    """Write a tiny random checkpoint of ``family`` into ``folder`` and return the folder.

    ``family`` is a ``model_type``: one of :data:`vlkit.testing.TINY_FAMILIES` (``"qwen2_vl"``,
    ``"qwen2_5_vl"``, ``"qwen3_vl"``). The weights depend only on ``seed``. Special and
    non-printable tokens have zero output rows, so greedy decoding yields visible text instead of
    stopping at once. The folder is created if needed; existing files in it are overwritten.

    Example::

        folder = build_tiny_checkpoint("qwen2_5_vl", tmp_path / "qwen2_5_vl")
        model = AutoModelForImageTextToText.from_pretrained(folder)
    """
    spec = family_spec(family)
    _require_local_extra()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    tokenizer = train_tokenizer(eos_token="<|im_end|>", chat_template=load_template(spec))
    config = _model_config(spec, tokenizer)
    model = _seeded_model(config, seed)
    _silence_rows(model, unspeakable_token_ids(tokenizer, config.text_config.vocab_size))
    model.generation_config = _generation_config(tokenizer)

    with _quiet_progress_bars():
        model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    write_vocab_and_merges(tokenizer, folder)
    preprocessor = json.dumps(_preprocessor_config(spec), indent=2) + "\n"
    (folder / "preprocessor_config.json").write_text(preprocessor, encoding="utf-8")
    video = _video_preprocessor_config(spec)
    if video is not None:
        (folder / "video_preprocessor_config.json").write_text(json.dumps(video, indent=2) + "\n", encoding="utf-8")
    logger.info("built tiny %s checkpoint (seed %d) in %s", family, seed, folder)
    return folder
