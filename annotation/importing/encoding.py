"""Which text encodings an import file may use, and a stream of UTF-8 for the parsers.

Accepted: UTF-8 with or without a BOM, and UTF-16 (either byte order) with a BOM,
which is what spreadsheet programs write for "Unicode text". Everything is handed to
the parsers as UTF-8 without a BOM, transcoded chunk by chunk (bounded memory).

Refused, with a message saying how to re-save the file: UTF-32, UTF-16 without a BOM
(detected from NUL bytes in its first characters), and any other 8-bit encoding such
as latin-1 or Windows-1252. Those are not guessed: a guess that is wrong for one
byte silently changes the text being labeled, so their bytes are reported as "not
UTF-8" on the line where they occur.
"""

import codecs
import io
from typing import BinaryIO

RESAVE = "Save the file as UTF-8 (or UTF-16 with a BOM) and import it again."


class UnsupportedEncoding(ValueError):
    """The file's encoding is not one Quorum reads; ``str()`` is the user's message."""


def utf8_stream(stream: BinaryIO) -> io.BufferedReader:
    """The file's text as UTF-8 bytes without a BOM, buffered; raises ``UnsupportedEncoding``."""
    buffered = io.BufferedReader(stream, buffer_size=1 << 20)  # type: ignore[arg-type]
    head = buffered.peek(4)[:4]
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise UnsupportedEncoding(f"The file is UTF-32. {RESAVE}")
    if head.startswith(codecs.BOM_UTF8):
        buffered.read(len(codecs.BOM_UTF8))
        return buffered
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return io.BufferedReader(_Utf16ToUtf8(buffered), buffer_size=1 << 20)
    if len(head) >= 2 and (head[0] == 0) != (head[1] == 0):
        raise UnsupportedEncoding(f"The file looks like UTF-16 without a BOM. {RESAVE}")
    return buffered


def not_utf8_message(line: int) -> str:
    return f"Undecodable bytes (not UTF-8) on line {line}. {RESAVE}"


class _Utf16ToUtf8(io.RawIOBase):
    """UTF-16 (BOM first) in, UTF-8 out; raises ``UnicodeDecodeError`` on a lone surrogate."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-16")(errors="strict")
        self._pending = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending and not self._done:
            chunk = self._stream.read(1 << 16)
            self._done = not chunk
            self._pending = self._decoder.decode(chunk, final=self._done).encode("utf-8")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n
