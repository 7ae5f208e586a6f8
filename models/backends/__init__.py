"""Generation backends: one small interface (:class:`Backend`), one file per backend."""

from vlkit.models.backends.base import Backend, Delta, GenerationRequest, ImageCount, TokenCount, Usage, VideoCount

__all__ = ["Backend", "Delta", "GenerationRequest", "ImageCount", "TokenCount", "Usage", "VideoCount"]
