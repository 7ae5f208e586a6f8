"""Package data: the small corpus the tiny tokenizer is trained on."""
