"""Gunicorn access log without personal data: paths are written, query-string values are not.

Searches put ID numbers, phones and names into the query string (``/clients/?q=33010619…``), and
the referring page's address carries the same. ``bin/serve`` runs gunicorn with
``--logger-class xinyuan.gunicorn_logging.RedactingLogger``: every query value in the request
line (``%(r)s``), the query atom (``%(q)s``), the referer (``%(f)s``) and the corresponding
header/environ atoms is replaced by ``*``; parameter names stay so an operator still sees which
filter was used. A name that is not a plain identifier (or holds six digits in a row) is masked too.

This module is imported by the gunicorn master before Django starts: it must not import Django.
"""

import re
from urllib.parse import urlsplit, urlunsplit

from gunicorn.glogging import Logger

MASK = "*"
SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-\[\]]{0,39}$")
LONG_DIGITS = re.compile(r"\d{6,}")


def redact_query(query: str | None) -> str:
    """``q=330106…&page=2`` -> ``q=*&page=*``: names kept (when plain), every value masked."""
    if not query:
        return ""
    parts = []
    for item in query.split("&"):
        if not item:
            continue
        name = item.split("=", 1)[0]
        plain = SAFE_NAME.match(name) and not LONG_DIGITS.search(name)
        parts.append(f"{name if plain else MASK}={MASK}")
    return "&".join(parts)


def redact_uri(uri: str | None) -> str:
    """A request target or URL with its query values masked and its fragment dropped."""
    if not uri or uri == "-":
        return uri or ""
    path, sep, rest = uri.partition("?")
    path = path.split("#", 1)[0]
    if not sep:
        return path
    return f"{path}?{redact_query(rest.split('#', 1)[0])}"


def redact_url(url: str | None) -> str:
    """An absolute URL (the referer) with user info removed and query values masked."""
    if not url or url == "-":
        return url or "-"
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = redact_query(parts.query)
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


# Header and environ atoms that repeat the query string or the referer.
_URI_ATOMS = ("{raw_uri}e", "{request_uri}e")
_QUERY_ATOMS = ("{query_string}e",)
_URL_ATOMS = ("{referer}i", "{http_referer}e")


class RedactingLogger(Logger):
    """Gunicorn's logger with every query value masked in the access log's atoms."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        method = environ.get("REQUEST_METHOD", "-")
        protocol = environ.get("SERVER_PROTOCOL", "-")
        atoms["r"] = f"{method} {redact_uri(environ.get('RAW_URI', ''))} {protocol}"
        atoms["q"] = redact_query(environ.get("QUERY_STRING"))
        atoms["f"] = redact_url(environ.get("HTTP_REFERER", "-"))
        for key in _URI_ATOMS:
            if key in atoms:
                atoms[key] = redact_uri(atoms[key])
        for key in _QUERY_ATOMS:
            if key in atoms:
                atoms[key] = redact_query(atoms[key])
        for key in _URL_ATOMS:
            if key in atoms:
                atoms[key] = redact_url(atoms[key])
        return atoms
