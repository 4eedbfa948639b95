"""Errors that service functions raise; views and the API turn them into Chinese messages."""

from django.core.exceptions import ValidationError


class ConflictError(ValidationError):
    """Someone else changed the record since it was read; nothing was written."""

    def __init__(self, message="该记录已被他人修改，请刷新页面后重试。"):
        super().__init__(message, code="conflict")
