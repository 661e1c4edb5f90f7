"""The OpenAI chat completions wire format (and legacy completions), one module per direction and concern:
:mod:`.request` and :mod:`.reply` and :mod:`.stream` for clients calling tiergate, :mod:`.upstream` for
tiergate calling an OpenAI-compatible server."""
