"""The one exception hierarchy of vlkit, split by who can fix the error.

* :class:`UserError` — the person running vlkit must act (pass a local model path, install an
  extra, start the server, pick another file). Messages say what was wrong *and* what to do.
* :class:`ModelOutputError` — the model produced something unusable (bad JSON, unknown tool,
  off-screen coordinates). Agent loops feed these back to the model as an observation that
  names the valid choices, so it can try again.

Everything vlkit raises on purpose derives from :class:`VlkitError`.

Each surface names its own knobs. A message part that differs between surfaces (the setting to change,
how the failing input is named) is a :class:`Words`, with one phrase per surface: ``family='qwen2_vl'``
in Python, ``--family qwen2_vl`` on the command line, the request field over HTTP, the control in the
web UI. ``str(error)`` is the Python wording; a surface shows ``error.on("cli")`` (or
:func:`said_on` for any exception)::

    raise UnsupportedModelError("the family of served model 'x' is unknown; ", PASS_FAMILY)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Surface",
    "SURFACES",
    "Words",
    "said_on",
    "PASS_FAMILY",
    "RAISE_MAX_IMAGE_PIXELS",
    "RAISE_MAX_IMAGE_BYTES",
    "RAISE_VIDEO_LIMIT",
    "RAISE_MAX_TOKENS",
    "VlkitError",
    "UserError",
    "MissingExtraError",
    "MissingProgramError",
    "ModelNotFoundError",
    "OfflineModelError",
    "UnsupportedModelError",
    "ExportError",
    "ImageError",
    "ImageUnreadableError",
    "UnsupportedImageFormatError",
    "ImageTooLargeError",
    "VideoError",
    "VideoUnreadableError",
    "UnsupportedVideoFormatError",
    "VideoTooLargeError",
    "UrlRefusedError",
    "UrlFetchError",
    "ServerError",
    "ServerUnreachableError",
    "ServerResponseError",
    "DocumentError",
    "IndexNotFoundError",
    "IndexBusyError",
    "UnsupportedContentError",
    "InvalidArgumentError",
    "MaxTokensTooSmallError",
    "ContextOverflowError",
    "RenderError",
    "RenderTimeoutError",
    "BrowserUnavailableError",
    "ModelOutputError",
    "ToolCallError",
    "InvalidActionError",
    "StructuredOutputError",
    "OutputTruncatedError",
]


Surface = Literal["python", "cli", "http", "ui"]
SURFACES: tuple[Surface, ...] = ("python", "cli", "http", "ui")
"""Where a user meets vlkit: the Python API, the ``vlkit`` command line, the HTTP API of ``vlkit serve``,
its web UI."""


@dataclass(frozen=True)
class Words:
    """One phrase of an error message, as each surface says it (every surface must be given: a phrase
    left to fall back on the Python wording is how ``family=`` ended up in a command-line error)."""

    python: str
    cli: str
    http: str
    ui: str

    def on(self, surface: Surface) -> str:
        """The phrase on ``surface``."""
        if surface not in SURFACES:
            raise ValueError(f"unknown surface {surface!r}; one of {', '.join(SURFACES)}")
        return getattr(self, surface)

    def __str__(self) -> str:
        return self.python


PASS_FAMILY = Words(
    python="pass family='qwen2_vl', 'qwen2_5_vl' or 'qwen3_vl'",
    cli="pass --family qwen2_vl, qwen2_5_vl or qwen3_vl",
    http="the server cannot tell its model's Qwen family; serve a local Qwen-VL checkpoint",
    ui="the server cannot tell its model's Qwen family; serve a local Qwen-VL checkpoint",
)
"""What to do when the Qwen family of a model cannot be read (a served model, a non-Qwen chat model)."""

RAISE_MAX_IMAGE_PIXELS = Words(
    python="downscale it or raise max_image_pixels",
    cli="downscale it or raise --max-image-pixels",
    http="downscale it (the limit is the server's)",
    ui="downscale it (the limit is the server's)",
)
"""What to do about an image over the pixel limit."""

RAISE_MAX_IMAGE_BYTES = Words(
    python="downscale or recompress it, or raise max_image_bytes",
    cli="downscale or recompress it",
    http="downscale or recompress it (the limit is the server's)",
    ui="downscale or recompress it (the limit is the server's)",
)
"""What to do about an image file over the size limit."""


RAISE_MAX_TOKENS = Words(
    python="raise max_tokens",
    cli="raise --max-tokens",
    http="raise max_tokens in the request",
    ui='raise "Max tokens"',
)
"""What to do when an answer was cut off at the token limit."""


class VlkitError(Exception):
    """Base class of every error vlkit raises on purpose.

    ``VlkitError("text")`` as any exception; parts that are :class:`Words` make the message depend on
    the surface: ``str(error)`` joins their Python phrases, :meth:`on` another surface's.
    """

    def __init__(self, *parts: object) -> None:
        self.parts = parts
        if any(isinstance(part, Words) for part in parts):
            super().__init__(self.on("python"))
        else:
            super().__init__(*parts)

    def on(self, surface: Surface) -> str:
        """The message in the words of ``surface`` (``"python"``, ``"cli"``, ``"http"`` or ``"ui"``)."""
        if not any(isinstance(part, Words) for part in self.parts):
            return str(self)
        return "".join(part.on(surface) if isinstance(part, Words) else str(part) for part in self.parts)


def said_on(error: BaseException, surface: Surface) -> str:
    """``error``'s message on ``surface``: :meth:`VlkitError.on` for vlkit's errors, ``str`` for others."""
    return error.on(surface) if isinstance(error, VlkitError) else str(error)


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


class ExportError(UserError):
    """Converting a checkpoint for another runtime failed (``vlkit export``); the message carries the
    converter's last words."""


class ImageError(UserError):
    """An image given as input cannot be used."""


class ImageUnreadableError(ImageError):
    """The image file or data cannot be read or decoded."""


class UnsupportedImageFormatError(ImageError):
    """The image is in a format or input form vlkit does not accept."""


class ImageTooLargeError(ImageError):
    """The image is larger than the configured limit (refused before decoding)."""

    @classmethod
    def pixels(cls, what: str, width: int, height: int, limit: int) -> "ImageTooLargeError":
        """``WHAT is WxH = N MP; the limit is M MP (refused before decoding; downscale it or raise …)``,
        the knob in each surface's words."""
        return cls(f"{what} is {width}x{height} = {width * height / 1e6:.0f} MP; the limit is {limit / 1e6:.0f} MP "
                   "(refused before decoding; ", RAISE_MAX_IMAGE_PIXELS, ")")

    @classmethod
    def file_size(cls, what: str, size: int, limit: int) -> "ImageTooLargeError":
        """``WHAT is N MiB; the limit is M MiB (downscale or recompress it …)``, in each surface's words."""
        return cls(f"{what} is {size / 2**20:.1f} MiB; the limit is {limit / 2**20:.0f} MiB (",
                   RAISE_MAX_IMAGE_BYTES, ")")


RAISE_VIDEO_LIMIT = Words(
    python="trim or downscale it, or pass larger vlkit.vision.video.VideoLimits(...)",
    cli="trim or downscale it",
    http="trim or downscale it (the limit is the server's)",
    ui="trim or downscale it (the limit is the server's)",
)
"""What to do about a video over a size, duration, resolution or frame-count limit."""


class VideoError(UserError):
    """A video given as input cannot be used."""


class VideoUnreadableError(VideoError):
    """The video file or data cannot be opened or decoded (corrupt, truncated, no video stream)."""


class UnsupportedVideoFormatError(VideoError):
    """The video is in a container or input form vlkit does not accept."""


class VideoTooLargeError(VideoError):
    """The video is over a configured limit (bytes, duration, resolution, frames), refused before decoding."""


class UrlRefusedError(UserError):
    """An http(s) URL given as input was refused without being fetched: not http(s), too many redirects, or
    its host resolves to a loopback, private or link-local address (the SSRF guard of :mod:`vlkit.vision.fetch`).
    The message says how to pass the content instead, or which setting allows the address."""


class UrlFetchError(UserError):
    """An http(s) URL given as input could not be downloaded: its host cannot be resolved or reached, it took
    too long, or it answered an error status. Download it yourself and pass a local file instead."""


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


class MaxTokensTooSmallError(InvalidArgumentError):
    """``max_tokens`` is below the fewest tokens a forced tool call or a structured answer can take.

    Raised before anything is generated; ``needed`` is the smallest ``max_tokens`` that fits (the end
    token included), ``max_tokens`` the budget that was given. The message names ``needed`` in the words
    of each surface.
    """

    def __init__(self, what: str, *, needed: int, max_tokens: int) -> None:
        raise_to = Words(
            python=f"raise max_tokens to {needed} or more",
            cli=f"raise --max-tokens to {needed} or more",
            http=f"raise max_tokens in the request to {needed} or more",
            ui=f'raise "Max tokens" to {needed} or more',
        )
        super().__init__(
            f"a token limit of {max_tokens} is too few for {what}: the shortest valid answer takes {needed} "
            "tokens (its end token included); ",
            raise_to,
        )
        self.needed = needed
        self.max_tokens = max_tokens


class ContextOverflowError(InvalidArgumentError):
    """A prompt and its ``max_tokens`` do not fit in the model's context.

    Raised before anything runs. The message says what the text and each image cost and what to lower —
    ``max_tokens``, the images' visual budget, or the text — in the words of each surface.
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

    def __init__(self, *parts: object, raw: str | None = None) -> None:
        super().__init__(*parts)
        self.raw = raw


class OutputTruncatedError(StructuredOutputError):
    """Generation stopped at ``max_tokens`` before the structured answer was complete.

    Raise ``max_tokens`` (or shorten the schema) and call again; vlkit never returns half-parsed data.
    """
