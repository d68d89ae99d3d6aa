"""Uploads are held in memory, never spooled to a temp file, and bounded."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http.multipartparser import MultiPartParserError


class UploadTooLarge(MultiPartParserError):
    pass


class BoundedMemoryUploadHandler(MemoryFileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None) -> None:
        limit = settings.SESSION_IMPORT_MAX_UPLOAD_BYTES
        if content_length and content_length > limit:
            raise UploadTooLarge(f"upload is {content_length} bytes, over the {limit}-byte limit")
        self.activated = True  # always in memory, whatever FILE_UPLOAD_MAX_MEMORY_SIZE says
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        limit = settings.SESSION_IMPORT_MAX_UPLOAD_BYTES
        if self.received > limit:
            raise UploadTooLarge(f"{self.file_name} is over the {limit}-byte upload limit")
        return super().receive_data_chunk(raw_data, start)
