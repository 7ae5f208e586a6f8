"""The one exception hierarchy of vlkit, split by who can fix the error.

* :class:`UserError` — the person running vlkit must act (pass a local model path, install an
  extra, start the server, pick another file). Messages say what was wrong *and* what to do.
* :class:`ModelOutputError` — the model produced something unusable (bad JSON, unknown tool,
  off-screen coordinates). Agent loops feed these back to the model as an observation that
  names the valid choices, so it can try again.

Everything vlkit raises on purpose derives from :class:`VlkitError`.
"""

from __future__ import annotations

__all__ = [
    "VlkitError",
    "UserError",
    "MissingExtraError",
    "MissingProgramError",
    "ModelNotFoundError",
    "OfflineModelError",
    "UnsupportedModelError",
    "ImageError",
    "ImageUnreadableError",
    "UnsupportedImageFormatError",
    "ImageTooLargeError",
    "ServerError",
    "ServerUnreachableError",
    "ServerResponseError",
    "DocumentError",
    "IndexNotFoundError",
    "IndexBusyError",
    "UnsupportedContentError",
    "InvalidArgumentError",
    "RenderError",
    "RenderTimeoutError",
    "BrowserUnavailableError",
    "ModelOutputError",
    "ToolCallError",
    "InvalidActionError",
    "StructuredOutputError",
    "OutputTruncatedError",
]


class VlkitError(Exception):
    """Base class of every error vlkit raises on purpose."""


# --------------------------------------------------------------------------- user must fix


class UserError(VlkitError):
    """Wrong input or environment: the user must change something and run again."""


class MissingExtraError(UserError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str = "") -> None:
        self.package = package
        self.extra = extra
        what = f" for {purpose}" if purpose else ""
        super().__init__(
            f"'{package}' is needed{what} but is not installed; install it with: pip install 'vlkit[{extra}]'"
        )


class MissingProgramError(UserError):
    """An external program vlkit runs (e.g. ``tesseract``) is not installed; the message says how to install it."""

    def __init__(self, program: str, install: str, purpose: str = "") -> None:
        self.program = program
        self.install = install
        what = f" for {purpose}" if purpose else ""
        super().__init__(f"'{program}' is needed{what} but is not installed; install it with: {install}")


class ModelNotFoundError(UserError):
    """The model id or folder does not exist."""


class OfflineModelError(UserError):
    """The model is not in the local cache and the hub cannot be reached."""


class UnsupportedModelError(UserError):
    """The checkpoint's ``model_type`` is not one vlkit supports."""


class ImageError(UserError):
    """An image given as input cannot be used."""


class ImageUnreadableError(ImageError):
    """The image file or data cannot be read or decoded."""


class UnsupportedImageFormatError(ImageError):
    """The image is in a format or input form vlkit does not accept."""


class ImageTooLargeError(ImageError):
    """The image is larger than the configured limit (refused before decoding)."""


class ServerError(UserError):
    """An OpenAI-compatible server could not serve the request."""


class ServerUnreachableError(ServerError):
    """The server could not be reached (connection refused, DNS, timeout)."""


class ServerResponseError(ServerError):
    """The server answered with an error status or a malformed body."""

    def __init__(self, message: str, *, status_code: int | None = None, body: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body


class UnsupportedContentError(UserError):
    """A message holds content vlkit cannot pass to the model (audio, video, an unknown block type)."""


class InvalidArgumentError(UserError, ValueError):
    """A vlkit function got a value it does not accept; the message lists the accepted ones.

    Also a ``ValueError``, which is what LangChain's own code raises for the same mistakes.
    """


class DocumentError(UserError):
    """A document (PDF, image, folder) cannot be ingested: corrupt, encrypted, empty, unsupported."""


class IndexNotFoundError(UserError):
    """A knowledge-base index folder does not exist (or holds no index); the message says how to build one."""


class IndexBusyError(UserError):
    """Another process is writing (adding to or removing from) the same index; the message names it and
    says to wait for it or retry."""


class RenderError(UserError):
    """HTML could not be rendered in headless Chromium (too large, bad viewport, browser failure)."""


class RenderTimeoutError(RenderError):
    """Rendering did not finish within its time limit."""


class BrowserUnavailableError(UserError):
    """Chromium (or Playwright) cannot be started; the message says how to install it."""


# --------------------------------------------------------------------------- model can fix


class ModelOutputError(VlkitError):
    """The model's output is unusable; agent loops feed the message back to the model."""


class ToolCallError(ModelOutputError):
    """A tool call names an unknown tool or carries arguments that do not fit its schema.

    The message is what the agent loop feeds back to the model, so it names the valid choices.
    """

    @classmethod
    def unknown_tool(cls, name: str | None, available: "list[str]") -> "ToolCallError":
        """``Unknown tool 'x'; available: a, b``."""
        return cls(f"Unknown tool '{name}'; available: {', '.join(available) or '(none)'}")

    @classmethod
    def invalid_arguments(cls, name: str | None, detail: str) -> "ToolCallError":
        """``Invalid arguments for 'x': <what is wrong>``."""
        return cls(f"Invalid arguments for '{name}': {detail}")


class InvalidActionError(ModelOutputError):
    """A GUI action the model chose cannot be used: unknown action, missing field, off-screen coordinate."""


class StructuredOutputError(ModelOutputError):
    """The model's answer does not parse or validate against the requested schema."""

    def __init__(self, message: str, *, raw: str | None = None) -> None:
        super().__init__(message)
        self.raw = raw


class OutputTruncatedError(StructuredOutputError):
    """Generation stopped at ``max_tokens`` before the structured answer was complete.

    Raise ``max_tokens`` (or shorten the schema) and call again; vlkit never returns half-parsed data.
    """
