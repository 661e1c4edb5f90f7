"""Rules: request features, condition operators, scorer transforms.

Features are registered by the modules that compute them; importing the package imports them all,
so the registry (``rules.features.FEATURES``) is complete whichever module is imported first.
"""

from tiergate.rules import agent_steps, ask, learned, observed  # noqa: F401  (register their features)
