"""Generation backends: one small interface (:class:`Backend.stream`), one file per backend."""

from vlkit.models.backends.base import Backend, Delta, GenerationRequest, Usage

__all__ = ["Backend", "Delta", "GenerationRequest", "Usage"]
