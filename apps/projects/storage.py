"""Private file storage for project documents: outside MEDIA_ROOT, never served by URL.

Files are read only through ``projects:document-download``, which checks the permission. The
directory is ``settings.PROJECT_DOCUMENTS_DIR`` when set, else ``var/private/projects``; it is read
on every access so tests can point it at a temporary directory.
"""

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible


@deconstructible
class PrivateDocumentStorage(FileSystemStorage):
    @property
    def base_location(self):
        default = os.path.join(str(settings.VAR_DIR), "private", "projects")
        return str(getattr(settings, "PROJECT_DOCUMENTS_DIR", "") or default)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    @property
    def base_url(self):
        return None

    def url(self, name):
        raise ValueError("项目文档不提供公开链接，请通过下载页面获取。")


private_documents = PrivateDocumentStorage()
