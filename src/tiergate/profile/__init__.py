"""``tiergate profile``: measure local targets on this machine and write profile files routes.yaml can name."""
