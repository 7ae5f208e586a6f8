"""File arguments as a closed choice: the schema lists the user's files, the tool gets the real path."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from tests.agents.scripted import answer, call
from vlkit.agents import create_vlm_agent, file_choices, with_file_choices


def test_the_model_picks_a_file_by_name_and_the_tool_gets_its_path(scripted, tmp_path) -> None:
    opened: list[tuple[str, int]] = []

    @tool
    def read_invoice(path: str, pages: int = 1) -> str:
        """Read an invoice file."""
        opened.append((path, pages))
        return f"read {path}"

    a, b = tmp_path / "a.png", tmp_path / "sub" / "b.png"
    choices = file_choices([a, b])
    assert choices == {"a.png": str(a), "b.png": str(b)}
    assert file_choices([a, tmp_path / "sub" / "a.png"]) == {"image_1": str(a), "image_2": str(tmp_path / "sub" / "a.png")}

    wrapped = with_file_choices(read_invoice, choices)
    schema = convert_to_openai_tool(wrapped)["function"]["parameters"]
    assert schema["properties"]["path"]["enum"] == ["a.png", "b.png"] and "pages" in schema["properties"]

    model = scripted(call("read_invoice", path="/etc/passwd"), call("read_invoice", path="b.png", pages=2), answer("ok"))
    state = create_vlm_agent(model, [wrapped]).invoke({"messages": [{"role": "user", "content": "read b"}]})
    refused, done = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert refused.status == "error" and "'a.png' or 'b.png'" in refused.text
    assert opened == [(str(b), 2)] and done.text == f"read {b}"


def test_tools_without_a_file_argument_are_left_alone() -> None:
    @tool
    def add(a: int, b: int) -> Any:
        """Add."""
        return a + b

    assert with_file_choices(add, {"x.png": "/x.png"}) is add
