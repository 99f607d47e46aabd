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

# What the import's stream wrappers read from: an uploaded or opened file, or another wrapper
# (the ``io.RawIOBase`` subclasses here and in formats and jsonsafe). They only call ``read(n)``.
ByteSource = BinaryIO | io.RawIOBase

RESAVE = "Save the file as UTF-8 (or UTF-16 with a BOM) and import it again."


class UnsupportedEncoding(ValueError):
    """The file's encoding is not one Quorum reads; ``str()`` is the user's message."""

    def __init__(self, message: str, encoding: str):
        super().__init__(message)
        self.params = {"encoding": encoding}


class NotUtf8(ValueError):
    """Bytes that are not UTF-8, at ``offset`` (0-based, in the UTF-8 stream) on ``line``."""

    def __init__(self, offset: int, line: int, byte: int):
        super().__init__(not_utf8_message(line, offset, byte))
        self.offset, self.line, self.byte = offset, line, byte


def utf8_stream(stream: io.RawIOBase) -> io.BufferedReader:
    """The file's text as UTF-8 bytes without a BOM, buffered; raises ``UnsupportedEncoding``."""
    buffered: io.BufferedReader = io.BufferedReader(stream, buffer_size=1 << 20)
    head = buffered.peek(4)[:4]
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise UnsupportedEncoding(f"The file is UTF-32. {RESAVE}", "UTF-32")
    if head.startswith(codecs.BOM_UTF8):
        buffered.read(len(codecs.BOM_UTF8))
        return buffered
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return io.BufferedReader(_Utf16ToUtf8(buffered), buffer_size=1 << 20)
    if len(head) >= 2 and (head[0] == 0) != (head[1] == 0):
        raise UnsupportedEncoding(
            f"The file looks like UTF-16 without a BOM. {RESAVE}", "UTF-16 without a BOM"
        )
    return buffered


def not_utf8_message(line: int | None, offset: int, byte: int) -> str:
    """Where the first byte that is not UTF-8 is, and what it would be in Windows-1252,
    the usual culprit (a spreadsheet's "CSV" export), so the user knows which cell."""
    where = f"on line {line} " if line else ""
    guess = bytes([byte]).decode("cp1252", errors="replace")
    hint = f" ({guess!r} in Windows-1252)" if guess != "\ufffd" and guess.isprintable() else ""
    return (
        f"The file is not UTF-8: byte 0x{byte:02X}{hint} {where}at byte offset {offset:,}. {RESAVE}"
    )


class Utf8Checked(io.RawIOBase):
    """Passes UTF-8 through unchanged and raises ``NotUtf8`` at the first bad byte.

    The good bytes before it are delivered first, so a parser reading this stream handles
    every complete record before the bad one; ``line`` is the current line (1-based).
    """

    def __init__(self, stream: ByteSource):
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._offset = 0  # bytes handed on so far
        self.line = 1
        self._error: NotUtf8 | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._error is not None:
            raise self._error
        data = self._stream.read(len(buffer))
        pending = len(self._decoder.getstate()[0])  # a character split across reads
        try:
            self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            good = max(0, exc.start - pending)
            bad_offset = self._offset + good
            data = data[:good]
            line = self.line + data.count(b"\n")
            self._error = NotUtf8(bad_offset, line, exc.object[exc.start])
            if not data:
                raise self._error from None
        n = len(data)
        buffer[:n] = data
        self._offset += n
        self.line += data.count(b"\n")
        return n


class _Utf16ToUtf8(io.RawIOBase):
    """UTF-16 (BOM first) in, UTF-8 out; raises ``UnicodeDecodeError`` on a lone surrogate."""

    def __init__(self, stream: ByteSource):
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
