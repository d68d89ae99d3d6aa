"""Session formats: parse any supported format into a SessionRecord and export it back."""

from accounts.sessions.detect import InputFile, ParsedSession, Rejection, session_parse_one, sessions_parse
from accounts.sessions.pyrogram_format import pyrogram_sqlite_export, pyrogram_string_export
from accounts.sessions.record import AccountProfile, SessionFormat, SessionFormatError, SessionRecord
from accounts.sessions.telethon_format import telethon_sqlite_export, telethon_string_export

__all__ = [
    "AccountProfile",
    "InputFile",
    "ParsedSession",
    "Rejection",
    "SessionFormat",
    "SessionFormatError",
    "SessionRecord",
    "pyrogram_sqlite_export",
    "pyrogram_string_export",
    "session_parse_one",
    "sessions_parse",
    "telethon_sqlite_export",
    "telethon_string_export",
]
