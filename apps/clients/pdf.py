"""The registration form of Appendix C as a PDF, in its layout, with Chinese glyphs (WeasyPrint + Noto CJK)."""

import phonenumbers
from django.template.loader import render_to_string
from django.utils import timezone


def national_phone(value: str) -> str:
    """+8613800138000 → 13800138000; landlines keep their area code (0571-87654321)."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL).replace(" ", "")


def registration_form_pdf(client, *, printed_by, reception: dict | None = None) -> bytes:
    """Render 来访者情况登记表 for ``client``; ``reception`` fills the per-visit part when given."""
    import weasyprint

    html = render_to_string(
        "clients/registration_form_pdf.html",
        {
            "client": client,
            "reception": reception or {},
            "unit_name": client.unit.name,
            "phone": national_phone(client.phone),
            "printed_by": printed_by.full_name,
            "printed_at": timezone.localtime(),
        },
    )
    return weasyprint.HTML(string=html).write_pdf()
