"""Prompt templates of the QA layer (package data, read with importlib.resources)."""
