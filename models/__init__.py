"""The Qwen vision-language models as LangChain chat models."""

from vlkit.models.chat import ChatQwenVL
from vlkit.models.families import FAMILIES, FamilySpec
from vlkit.models.images import smart_resize

__all__ = ["ChatQwenVL", "FAMILIES", "FamilySpec", "smart_resize"]
