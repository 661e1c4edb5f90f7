"""Fake upstreams that speak the Ollama, Anthropic and OpenAI wire protocols on 127.0.0.1."""
