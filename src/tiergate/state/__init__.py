"""State that workers and replicas share: in process by default, Redis when ``state.redis_url`` is set.

One :class:`~tiergate.state.link.RedisLink` per process owns the connection and knows whether Redis can be
used right now. Each shared piece keeps its in-process form as the fallback and asks the link first:

    link.py       the connection, its health (/health, /metrics, one log line per outage), reconnecting
    resp.py       the pipelined client under it: awaited commands, and queued ones that ride along
    channels.py   one pub/sub subscription per process, for the pieces that keep a copy in memory
    limits.py     rpm (GCRA) and concurrency (leases) per target and per client key, one Lua call each
    breakers.py   breaker state mirrored through a hash and a pub/sub channel; the hot path reads memory
    sessions.py   sticky sessions: the session's highest tier, read and raised in one Lua call; the
                  sessions this process served are answered from a copy that a channel keeps current
    failures.py   session escalation's failures, holds and served tiers, published on a channel to
                  every process's copy; holds also kept, for processes that subscribe later
    switch.py     max_loaded's calls in flight per Ollama server: leases and a lock per backend
    leases.py     renews the leases this process holds (concurrency slots, switch calls) until released
    cache.py      byte caches (classifier answers, embeddings) behind the local LRUs
    wiring.py     builds all of it from routes.yaml at start-up, and the app's lifespan

On the request path only what decides the request waits for Redis: a rate limit's script, a session
this process has not served yet, and the Ollama switch's lease on a backend with ``max_loaded``.
Everything else is read from memory or sent without waiting.

Redis down is never an outage: an unreachable Redis (at start or mid-run) makes each call fall back to
the in-process state at once, and the link tries again every ``state.retry_interval`` seconds.
"""
