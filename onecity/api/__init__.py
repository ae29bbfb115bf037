"""The HTTP layer: thin routes that parse input and call service functions."""
