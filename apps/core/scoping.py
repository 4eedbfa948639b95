"""Make forgetting the scope hard: querysets of client data refuse to run unscoped.

A model of client data uses ``ScopedManager``. Its querysets can be filtered and chained as usual,
but evaluating one (iterating, ``get``, ``count``, ``exists``, ``update``, ``delete`` …) raises
``ScopeError`` unless it went through ``apps.core.access.scope`` / ``Model.objects.visible_to``
or runs inside ``with unscoped("why"):`` (background jobs, imports, the tests' own set-up). This
is the habit pretty much every leak comes from, turned into an exception — as django-scopes does
in pretix, in a dozen lines instead of a dependency.

Django itself reaches rows through ``_base_manager`` (saving, deleting, foreign keys), which stays
a plain manager, so internals keep working.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models

_unscoped: ContextVar[str | None] = ContextVar("xinyuan_unscoped", default=None)


class ScopeError(RuntimeError):
    """A query of client data ran without a scope."""


@contextmanager
def unscoped(reason: str):
    """Allow unscoped queries of client data in this block; ``reason`` says why (for readers)."""
    if not reason:
        raise ValueError("unscoped() needs a reason")
    token = _unscoped.set(reason)
    try:
        yield
    finally:
        _unscoped.reset(token)


class ScopedQuerySetMixin:
    """Refuse evaluation until the queryset has been scoped (or ``unscoped`` is active)."""

    _xinyuan_scoped = False

    def _clone(self):
        clone = super()._clone()
        clone._xinyuan_scoped = self._xinyuan_scoped
        return clone

    def mark_scoped(self):
        clone = self._chain()
        clone._xinyuan_scoped = True
        return clone

    def _require_scope(self):
        if not self._xinyuan_scoped and _unscoped.get() is None:
            raise ScopeError(
                f"{self.model.__name__} 的查询未经范围限定（unscoped query of {self.model.__name__}）："
                f"use {self.model.__name__}.objects.visible_to(user, perm) or `with unscoped(reason)`."
            )

    def _fetch_all(self):
        if self._result_cache is None:
            self._require_scope()
        return super()._fetch_all()

    def iterator(self, *args, **kwargs):
        self._require_scope()
        return super().iterator(*args, **kwargs)

    def count(self):
        self._require_scope()
        return super().count()

    def exists(self):
        self._require_scope()
        return super().exists()

    def aggregate(self, *args, **kwargs):
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs):
        self._require_scope()
        return super().update(**kwargs)

    update.alters_data = True

    def delete(self):
        self._require_scope()
        return super().delete()

    delete.alters_data = True

    def none(self):
        return super().none().mark_scoped()


class ScopedQuerySet(ScopedQuerySetMixin, models.QuerySet):
    pass


class ScopedManagerMixin:
    def visible_to(self, user, perm: str):
        """The rows ``user`` may see with ``perm`` (nothing by default)."""
        from .access import scope

        return scope(self.get_queryset(), user, perm)


ScopedManager = type("ScopedManager", (ScopedManagerMixin, models.Manager.from_queryset(ScopedQuerySet)), {})
