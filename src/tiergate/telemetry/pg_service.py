"""The settings a libpq connection service gives (``?service=team`` in the URL, or ``PGSERVICE``).

libpq reads the service's section of the connection service file for every keyword the connection
string does not give, before ``PG*`` variables. Neither psycopg nor libpq has a call that answers what a
service gives without connecting (``conninfo_to_dict`` is ``PQconninfoParse``, which reads no file, and
psycopg counts a connect timeout from the URL and ``PGCONNECT_TIMEOUT`` only), so the file is read here
as libpq reads it: the file ``PGSERVICEFILE`` names, else ``~/.pg_service.conf``; when that file lacks
the service, ``pg_service.conf`` in ``PGSYSCONFDIR``. The system folder libpq was built with (used when
``PGSYSCONFDIR`` is not set) is not known to Python: a service defined only there gives nothing here.

    service_settings({"service": "team"})   # {"host": "db", "connect_timeout": "3"}
"""

from __future__ import annotations

import os
from pathlib import Path


def service_settings(given: dict[str, str]) -> dict[str, str]:
    """The keywords the named service sets (the first value of each, as libpq keeps); ``{}`` without a
    service, or when its definition is not in a file read here (connecting then reports what is wrong)."""
    name = given.get("service") or os.environ.get("PGSERVICE")
    if not name:
        return {}
    user = os.environ.get("PGSERVICEFILE") or str(Path("~/.pg_service.conf").expanduser())
    system = os.environ.get("PGSYSCONFDIR")
    for file in [user, *([str(Path(system) / "pg_service.conf")] if system else [])]:
        found = _section(file, name)
        if found is not None:
            return found
    return {}


def _section(file: str, name: str) -> dict[str, str] | None:
    """The keywords of section ``[name]`` in ``file``; None when the file or the section is missing."""
    try:
        lines = Path(file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    found: dict[str, str] | None = None
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if found is not None:
                return found  # the next section: the service's ends here
            if line[1:].split("]", 1)[0] == name:
                found = {}
            continue
        if found is not None and "=" in line:
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), value.strip())
    return found
