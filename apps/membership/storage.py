"""Private files of the membership module: photos and certificate scans.

They live under ``MEDIA_ROOT/private/membership/`` and have no public URL: no URL pattern serves
MEDIA_ROOT, and ``url()`` refuses, so a template cannot link one by accident. They are streamed
only by permission-checked views (``views.application_photo`` and friends).
"""

import io

from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage

PHOTO_MAX_BYTES = 2 * 1024 * 1024
SCAN_MAX_BYTES = 5 * 1024 * 1024
PHOTO_FORMATS = {"JPEG": "jpg", "PNG": "png"}


class PrivateStorage(FileSystemStorage):
    """MEDIA_ROOT storage without URLs."""

    def url(self, name):
        raise ValueError("会员照片与证书扫描件不提供公开链接，只能通过授权页面查看。")


_storage = PrivateStorage()


def private_storage():
    return _storage


def check_photo(upload) -> None:
    """An electronic photo: JPEG or PNG, at most 2 MB, 100–4000 pixels a side, really an image."""
    from PIL import Image, UnidentifiedImageError

    if upload is None:
        raise ValidationError("请上传电子照片。", code="required")
    if upload.size > PHOTO_MAX_BYTES:
        raise ValidationError("电子照片不能超过 2 MB。", code="too_large")
    data = upload.read()
    upload.seek(0)
    try:
        image = Image.open(io.BytesIO(data))
        image.verify()
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError("电子照片须为 JPG 或 PNG 图片。", code="not_image") from None
    if image.format not in PHOTO_FORMATS:
        raise ValidationError("电子照片须为 JPG 或 PNG 图片。", code="format")
    width, height = image.size
    if min(width, height) < 100 or max(width, height) > 4000:
        raise ValidationError("电子照片尺寸须在 100 至 4000 像素之间。", code="size")


def check_scan(upload) -> None:
    """A certificate scan: PDF, JPEG or PNG by content, at most 5 MB (optional)."""
    if upload is None:
        return
    if upload.size > SCAN_MAX_BYTES:
        raise ValidationError("证书扫描件不能超过 5 MB。", code="too_large")
    head = upload.read(8)
    upload.seek(0)
    if not (head.startswith(b"%PDF") or head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG")):
        raise ValidationError("证书扫描件须为 PDF、JPG 或 PNG 文件。", code="format")


def content_type_of(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".pdf"):
        return "application/pdf"
    if lower.endswith(".png"):
        return "image/png"
    return "image/jpeg"
