"""Hostile images: HTML, SVG and GIF/HTML polyglots are never stored under a non-image
name nor served as a page, and a decompression bomb is a row error, not a 500."""

import base64
import io
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from annotation.models import Item
from annotation.services.importing import import_objects
from annotation.services.projects import project_create

pytestmark = pytest.mark.django_db

SCRIPT = b"<script>fetch('/api/users/', {method: 'POST'})</script>"
HTML = b"<!doctype html><html><body>" + SCRIPT + b"</body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg">' + SCRIPT + b"</svg>"
GIF_HEADER_THEN_SCRIPT = b"GIF89a" + SCRIPT  # the probe of issue #13: not decodable


def encoded(fmt: str, size=(8, 8), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, 200).save(buffer, format=fmt)
    return buffer.getvalue()


def polyglot_gif() -> bytes:
    """A GIF that decodes fine and is also an HTML page: script after the trailer."""
    return encoded("GIF", mode="P") + HTML


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width x height`` pixels in a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def uri(content: bytes, media_type: str) -> str:
    return f"data:{media_type};base64," + base64.b64encode(content).decode()


@pytest.fixture
def image_project(manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return project_create(creator=manager, name="Pics", labels=["a", "b"], data_type="image")


def post_json(api, project, image: str):
    return api.post(
        f"/api/projects/{project.pk}/import", {"items": [{"image": image}]}, format="json"
    )


def post_csv(api, project, image: str):
    upload = io.BytesIO(b'id,image\nx1,"' + image.encode() + b'"\n')
    upload.name = "items.csv"
    return api.post(f"/api/projects/{project.pk}/import", {"file": upload}, format="multipart")


def media(user, item):
    client = Client()
    client.force_login(user)
    response = client.get(f"/media/items/{item.pk}")
    assert response.status_code == 200
    return response, b"".join(response.streaming_content)


def assert_served_as_image(response, media_type: str, extension: str):
    assert response["Content-Type"] == media_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["Content-Disposition"].endswith(f'.{extension}"')
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp


@pytest.mark.parametrize("post", [post_json, post_csv], ids=["json-body", "csv-upload"])
@pytest.mark.parametrize(
    "content, media_type",
    [
        (HTML, "text/html"),
        (HTML, "image/png"),
        (SVG, "image/svg+xml"),
        (GIF_HEADER_THEN_SCRIPT, "text/html"),
        (GIF_HEADER_THEN_SCRIPT, "image/gif"),
        (encoded("BMP"), "image/bmp"),  # decodable, but not an allowed format
    ],
    ids=["html", "html-as-png", "svg", "gif-header-script", "gif-header-script-as-gif", "bmp"],
)
def test_what_is_not_an_allowed_raster_image_is_refused(
    api, image_project, post, content, media_type, settings
):
    response = post(api, image_project, uri(content, media_type))
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert error["field"] == "image"
    # "GIF89a<s..." claims a 29,500-pixel-wide screen: refused for its size.
    assert any(
        reason in error["message"]
        for reason in ("allowed formats: GIF, JPEG, PNG, WEBP", "the limit is 16,777,216 pixels")
    )
    assert not Item.objects.filter(project=image_project).exists()
    assert not [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


@pytest.mark.parametrize("post", [post_json, post_csv], ids=["json-body", "csv-upload"])
def test_a_decodable_polyglot_is_stored_re_encoded_and_served_as_a_gif(
    api, image_project, post, client_for, manager
):
    response = post(api, image_project, uri(polyglot_gif(), "text/html"))
    assert response.status_code == 201, response.content
    item = Item.objects.get(project=image_project)
    assert item.image.name.endswith(".gif")
    served, body = media(manager, item)
    assert_served_as_image(served, "image/gif", "gif")
    assert b"<script" not in body and b"<html" not in body
    assert Image.open(io.BytesIO(body)).size == (8, 8)


@pytest.mark.parametrize(
    "fmt, mode, media_type, extension",
    [("PNG", "RGBA", "image/png", "png"), ("JPEG", "RGB", "image/jpeg", "jpg"),
     ("WEBP", "RGB", "image/webp", "webp"), ("PNG", "I;16", "image/png", "png")],
)  # fmt: skip
def test_allowed_formats_take_their_extension_from_the_decoded_image(
    api, image_project, client_for, manager, fmt, mode, media_type, extension
):
    # The client's media type lies; the decoded format decides.
    response = post_json(api, image_project, uri(encoded(fmt, mode=mode), "text/html"))
    assert response.status_code == 201, response.content
    item = Item.objects.get(project=image_project)
    assert item.image.name.endswith(f".{extension}")
    served, body = media(manager, item)
    assert_served_as_image(served, media_type, extension)
    assert Image.open(io.BytesIO(body)).format == fmt


def test_a_png_text_chunk_does_not_survive_re_encoding(image_project):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", HTML.decode())
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG", pnginfo=info)
    assert SCRIPT in buffer.getvalue()
    result = import_objects(
        project=image_project, objects=[{"image": uri(buffer.getvalue(), "image/png")}]
    )
    assert result.ok, result.errors
    item = Item.objects.get(project=image_project)
    assert SCRIPT not in item.image.read()


def test_a_legacy_file_with_another_extension_is_only_ever_downloaded(
    image_project, client_for, manager
):
    name = default_storage.save("projects/legacy/row1.html", ContentFile(HTML))
    item = Item.objects.create(project=image_project, external_id="old", image=name)
    response, body = media(manager, item)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    "width, height",
    [(20000, 20000), (13000, 13000), (4097, 4096)],
    ids=["pillow-error", "pillow-warning", "over-our-limit"],
)
def test_an_image_with_too_many_pixels_is_a_row_error_before_decoding(
    api, image_project, width, height
):
    bomb = png_header_only(width, height)
    assert len(bomb) < 200
    response = post_json(api, image_project, uri(bomb, "image/png"))
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert error["field"] == "image"
    assert "the limit is 16,777,216 pixels" in error["message"]
    assert not Item.objects.filter(project=image_project).exists()


def test_the_pixel_limit_is_a_setting(api, image_project, settings):
    settings.QUORUM_MAX_IMAGE_PIXELS = 63
    response = post_json(api, image_project, uri(encoded("PNG"), "image/png"))  # 64 pixels
    assert response.status_code == 400
    assert "8x8 pixels; the limit is 63 pixels" in response.json()["errors"][0]["message"]
