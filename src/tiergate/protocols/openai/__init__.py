"""The OpenAI chat completions wire format; :mod:`.upstream` is tiergate calling an OpenAI-compatible server."""
