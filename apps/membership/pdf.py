"""The membership card (会员证) as a PDF: photo, number, name, validity and a QR code (H-MEM-3).

The QR code opens the public verification page by the member's unguessable card token; it
never carries the member id or any identifier.
"""

import base64
import io

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from . import selectors
from .choices import Tier

CARD_TIER = {Tier.PARTICIPANT: "普通会员", Tier.BUILDER: "建设者", Tier.LEADER: "引领者"}


def qr_data_uri(url: str) -> str:
    import qrcode

    image = qrcode.make(url, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def photo_data_uri(member) -> str:
    if not member.photo:
        return ""
    try:
        with member.photo.open("rb") as handle:
            data = handle.read()
    except (FileNotFoundError, OSError):
        return ""
    kind = "png" if member.photo.name.lower().endswith(".png") else "jpeg"
    return f"data:image/{kind};base64," + base64.b64encode(data).decode()


def verification_url(request, member) -> str:
    return request.build_absolute_uri(reverse("membership:verify", args=[member.card_token]))


def membership_card_pdf(member, *, request) -> bytes:
    import weasyprint

    html = render_to_string(
        "membership/card_pdf.html",
        {
            "member": member,
            "association": member.association,
            "photo": photo_data_uri(member),
            "qr": qr_data_uri(verification_url(request, member)),
            "card": selectors.card_state(member),
            "tier": CARD_TIER[selectors.tier_of(member)],
            "printed_at": timezone.localtime(),
        },
    )
    return weasyprint.HTML(string=html).write_pdf()
