"""Qwen image facts: families, visual budgets, smart_resize, token costs, the checked image loader and URL fetcher.

The floor every other part of vlkit stands on for images (it imports only :mod:`vlkit.errors`, PIL and
httpx): ``vlkit.models`` resizes with it, and tools, agents, retrieval and the server ask a chat model
about images through :func:`vision_facts` instead of reaching into the model.

Example:
    ```python
    from vlkit.vision import FAMILIES, open_image, vision_facts

    image = open_image("screen.png")                        # checked before decoding, RGB
    facts = vision_facts(llm)                               # a ChatQwenVL; any other model: family="qwen2_vl"
    facts.view_size(*image.size), facts.image_tokens(*image.size)
    ```
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vlkit.lazy import lazy_exports

# ``fetch`` has its module's name: importing vlkit.vision.fetch sets this package's ``fetch`` to the module,
# so a lazy ``fetch`` would be shadowed. The module needs neither PIL nor httpx at import.
from vlkit.vision.fetch import afetch, fetch, is_public_address

# public name -> module that defines it, loaded on first use: importing vlkit.vision.families (or
# vlkit.vision.resize, vlkit.vision.facts) does not import PIL
_EXPORTS = {
    "FAMILIES": "vlkit.vision.families",
    "FamilySpec": "vlkit.vision.families",
    "ImageInput": "vlkit.vision.loading",
    "ImageLimits": "vlkit.vision.limits",
    "MAX_IMAGE_BYTES": "vlkit.vision.limits",
    "MAX_IMAGE_PIXELS": "vlkit.vision.limits",
    "ModelVisionFacts": "vlkit.vision.facts",
    "VisionFacts": "vlkit.vision.facts",
    "family_for_model_type": "vlkit.vision.families",
    "family_named": "vlkit.vision.families",
    "family_of_folder": "vlkit.vision.families",
    "image_from_block": "vlkit.vision.loading",
    "image_size": "vlkit.vision.loading",
    "image_tokens": "vlkit.vision.resize",
    "is_image_block": "vlkit.vision.loading",
    "open_image": "vlkit.vision.loading",
    "pixels_for_tokens": "vlkit.vision.facts",
    "resized_size": "vlkit.vision.resize",
    "smart_resize": "vlkit.vision.resize",
    "visual_budget": "vlkit.vision.resize",
    "vision_facts": "vlkit.vision.facts",
}

__all__ = sorted([*_EXPORTS, "afetch", "fetch", "is_public_address"])
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from vlkit.vision.facts import ModelVisionFacts, VisionFacts, pixels_for_tokens, vision_facts
    from vlkit.vision.families import FAMILIES, FamilySpec, family_for_model_type, family_named, family_of_folder
    from vlkit.vision.limits import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, ImageLimits
    from vlkit.vision.loading import ImageInput, image_from_block, image_size, is_image_block, open_image
    from vlkit.vision.resize import image_tokens, resized_size, smart_resize, visual_budget
