"""Rules: request features, condition operators, scorer transforms.

Features are registered by the modules that compute them; importing the package imports every module of
it, found by itself (a new feature module is no edit here), so the registry (``rules.features.FEATURES``)
is complete whichever module is imported first.
"""

import importlib
import pkgutil

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")
