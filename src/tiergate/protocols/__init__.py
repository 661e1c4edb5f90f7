"""Wire formats as pure two-way codecs: a dialect's body, answers, stream events and error envelopes to
and from tiergate's internal form (:mod:`tiergate.wire`). No I/O here: backends bind a codec to a URL and
an HTTP client; ingresses bind one to a route."""
