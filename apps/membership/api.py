"""REST endpoints; xinyuan/urls.py registers every (prefix, viewset, basename) in ROUTES."""

ROUTES: list = []
