"""VLM tools: screenshot → HTML, invoice → JSON, GUI-action planning (arrive with their issues)."""

__all__: list[str] = []
