"""The handwritten signature of a decision (签名): where a step asks for one and what counts
as one.

A process asks for it per user task with the extension property
``<camunda:property name="signature" value="required" />`` (or ``optional``). The opinion
box of approve, reject and return then shows a pad; the browser sends the drawing as a PNG
data URL (the API: the same, or plain base64), and ``workflow.services.approvals`` stores it
in ``Task.signature`` in the decision's transaction.

What arrives is untrusted: :func:`signature_png` accepts only a real PNG (its magic bytes,
decoded by Pillow), at most 300 KB, of a plausible size, with some ink on it, and returns
it re-encoded (no chunk of the original survives, whatever it carried).
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from typing import Literal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, ImageChops, UnidentifiedImageError

from workflow.bpmn.model import Element, ElementKind

__all__ = [
    "MAX_SIGNATURE_BYTES",
    "SIGNATURE_PROPERTY",
    "SignatureMode",
    "signature_mode",
    "signature_png",
]

SignatureMode = Literal["", "optional", "required"]
SIGNATURE_PROPERTY = "signature"  # the user task's camunda:property
MAX_SIGNATURE_BYTES = 300 * 1024
# a pad on a phone (about 340 × 180 CSS pixels at 3 device pixels each) up to a wide desktop
MIN_WIDTH, MIN_HEIGHT = 60, 30
MAX_WIDTH, MAX_HEIGHT = 3000, 1500
MIN_INK_PIXELS = 20  # fewer dark pixels than this is an empty pad (or a stray tap)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_DATA_URL = re.compile(r"^data:image/png;base64,", re.IGNORECASE)
FIELD = "signature"


def signature_mode(element: Element | None) -> SignatureMode:
    """Whether the step asks for a signature: ``required``, ``optional`` or not at all
    (any other value of the property, and any step that is not a user task)."""
    if element is None or element.kind is not ElementKind.USER_TASK:
        return ""
    value = str(element.properties.get(SIGNATURE_PROPERTY, "")).strip().lower()
    if value == "required":
        return "required"
    if value == "optional":
        return "optional"
    return ""


def _refuse(message: str) -> ValidationError:
    return ValidationError({FIELD: [message]})


def _decode(value: str) -> bytes:
    text = _DATA_URL.sub("", value.strip(), count=1)
    text = "".join(text.split())
    # base64 is 4 characters per 3 bytes: anything longer cannot be small enough
    if len(text) > (MAX_SIGNATURE_BYTES + 2) // 3 * 4:
        raise _refuse(_("The signature is too large (at most 300 KB)."))
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise _refuse(_("The signature is not a PNG image.")) from error


def signature_png(value: str) -> bytes:
    """The drawing ``value`` (a ``data:image/png;base64,`` URL or base64 of a PNG) as a
    clean PNG; a ``ValidationError`` on the ``signature`` field when it is not a PNG, larger
    than 300 KB, of an implausible size, or empty."""
    raw = _decode(value)
    if len(raw) > MAX_SIGNATURE_BYTES:
        raise _refuse(_("The signature is too large (at most 300 KB)."))
    if not raw.startswith(PNG_MAGIC):
        raise _refuse(_("The signature is not a PNG image."))
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            if probe.format != "PNG":
                raise _refuse(_("The signature is not a PNG image."))
            width, height = probe.size
            # checked before decoding the pixels: a small file may claim a huge canvas
            if not (MIN_WIDTH <= width <= MAX_WIDTH and MIN_HEIGHT <= height <= MAX_HEIGHT):
                raise _refuse(
                    _("The signature's size of %(width)d × %(height)d pixels is not plausible.")
                    % {"width": width, "height": height}
                )
            probe.load()
            drawing = probe.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise _refuse(_("The signature is not a PNG image.")) from error
    if _ink(drawing) < MIN_INK_PIXELS:
        raise _refuse(_("The signature is empty; please sign in the box."))
    out = io.BytesIO()
    drawing.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _ink(drawing: Image.Image) -> int:
    """How many pixels are drawn: visible (not transparent) and dark (not white paper)."""
    visible = drawing.getchannel("A").point(lambda a: 255 if a > 32 else 0)
    dark = drawing.convert("L").point(lambda v: 255 if v < 160 else 0)
    return ImageChops.multiply(visible, dark).histogram()[255]
