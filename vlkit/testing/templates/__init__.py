"""Chat templates of the real Qwen-VL instruct checkpoints, kept verbatim as package data."""
