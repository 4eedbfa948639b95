"""The registration form of Appendix C as a PDF, in its layout, with Chinese glyphs (WeasyPrint + Noto CJK)."""

from django.template.loader import render_to_string
from django.utils import timezone

from apps.identity.phones import format_phone


def registration_form_pdf(client, *, printed_by, reception: dict | None = None) -> bytes:
    """Render 来访者情况登记表 for ``client``; ``reception`` fills the per-visit part when given."""
    import weasyprint

    html = render_to_string(
        "clients/registration_form_pdf.html",
        {
            "client": client,
            "reception": reception or {},
            "unit_name": client.unit.name,
            "phone": format_phone(client.phone),
            "printed_by": printed_by.full_name,
            "printed_at": timezone.localtime(),
        },
    )
    return weasyprint.HTML(string=html).write_pdf()
