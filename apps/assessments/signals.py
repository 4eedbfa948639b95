"""Signals other modules listen to (the alerts module maps results to warning colours)."""

from django.dispatch import Signal

result_scored = Signal()
"""Sent on transaction commit after a result is scored and saved; kwargs: ``result``."""
