"""Functions the upload tests run in ``apps.core.uploads.run_limited``'s child process (importable without
Django's app registry, as the child requires)."""

import os
import signal
import time

from django.core.exceptions import ValidationError


def add(a, b):
    return {"sum": a + b, "pid": os.getpid()}


def allocate(megabytes: int):
    """Hold ``megabytes`` of memory at once (a parser building a huge grid)."""
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


def sleep(seconds: float):
    time.sleep(seconds)
    return "woke"


def refuse():
    raise ValidationError("这个文件不行。", code="nope")


def explode():
    raise KeyError("boom")


def die():
    os.kill(os.getpid(), signal.SIGSEGV)
