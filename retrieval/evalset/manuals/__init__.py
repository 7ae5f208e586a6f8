"""Text of the generated evaluation manuals (package data, one ``=== heading`` per page)."""
