"""Agent loops that pick among vlkit's tools (arrives with the agent issue)."""

__all__: list[str] = []
