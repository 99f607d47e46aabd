"""Accepting an uploaded image: decode it, refuse anything but a few raster formats, re-encode.

An image item is served back to every member of its project from Quorum's own origin,
so its bytes and its extension must never be the client's: a "GIF" that is also an
HTML page, an SVG with a script, or a ``data:text/html`` URI would otherwise run as a
page. Here the upload is decoded by Pillow, only the formats in ``MEDIA_TYPES`` pass,
and what is stored is Pillow's re-encoding of the first frame, named by the decoded
format. The pixel count is read from the header and checked before any decoding, so a
small file that would decompress to gigabytes (a decompression bomb) costs nothing.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# Decoded Pillow format -> (stored extension, Content-Type served for it).
FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"),
}
# Stored extension -> Content-Type; what the media route serves inline, and nothing else.
MEDIA_TYPES = {extension: media_type for extension, media_type in FORMATS.values()}
MEDIA_TYPES["jpeg"] = "image/jpeg"  # how JPEGs were named before images were re-encoded
ALLOWED = ", ".join(sorted(FORMATS))
# The modes each encoder writes as they are; any other mode is converted first.
_WRITABLE_MODES = {
    "PNG": {"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"},
    "JPEG": {"L", "RGB", "CMYK"},
    "GIF": {"L", "P"},
    "WEBP": {"RGB", "RGBA"},
}


class ImageRejected(ValueError):
    """The upload is not an image Quorum will store; ``str()`` says why, for the user."""


@dataclass(frozen=True)
class CleanImage:
    extension: str
    content: bytes
    width: int
    height: int


def clean_image(content: bytes, *, max_pixels: int) -> CleanImage:
    """Decode ``content`` and return a fresh encoding of it, or raise ``ImageRejected``."""
    try:
        with warnings.catch_warnings():
            # Our limit (checked in _reencode, from the header) is the one that speaks,
            # with the image's size; Pillow's warning threshold is above it by default.
            # Pillow still raises DecompressionBombError at twice its own limit.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                return _reencode(image, max_pixels=max_pixels)
    except ImageRejected:
        raise
    except Image.DecompressionBombError:
        raise ImageRejected(_too_many_pixels_message(None, max_pixels)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ImageRejected(f"The image cannot be decoded; allowed formats: {ALLOWED}.") from None


def _reencode(image: Image.Image, *, max_pixels: int) -> CleanImage:
    if image.format not in FORMATS:
        raise ImageRejected(
            f"{image.format or 'This'} images are not accepted; allowed formats: {ALLOWED}."
        )
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise ImageRejected(_too_many_pixels_message((width, height), max_pixels))
    fmt = image.format
    image.seek(0)  # only the first frame of an animation is kept
    image.load()
    frame = image
    if frame.mode not in _WRITABLE_MODES[fmt]:
        frame = frame.convert("RGBA" if _has_alpha(frame) and fmt != "JPEG" else "RGB")
        if fmt == "GIF":
            frame = frame.convert("P", palette=Image.Palette.ADAPTIVE)
    out = io.BytesIO()
    options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
    frame.save(out, format=fmt, **options)
    extension = FORMATS[fmt][0]
    return CleanImage(extension=extension, content=out.getvalue(), width=width, height=height)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def _too_many_pixels_message(size: tuple[int, int] | None, max_pixels: int) -> str:
    given = f" is {size[0]:,}x{size[1]:,} pixels;" if size else " has too many pixels;"
    return f"The image{given} the limit is {max_pixels:,} pixels (QUORUM_MAX_IMAGE_PIXELS)."
