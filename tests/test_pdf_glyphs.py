"""PDFs print rare characters of names and addresses (CJK extension B and later), not empty boxes."""

import subprocess

from django.template.loader import render_to_string

RARE = "𠀀𪚥"  # U+20000 (extension B) and U+2A6A5 (extension B), as in some people's names


def test_rare_characters_print_with_a_real_glyph(tmp_path):
    """X-3, S-CLIENT-1: a name or address with extension-B characters prints them (fonts-hanazono backs Noto CJK)."""
    import weasyprint

    html = render_to_string("clients/registration_form_pdf.html", {"client": None, "reception": {}})
    html = html.replace("</body>", f"<p>{RARE}</p></body>")
    pdf = tmp_path / "rare.pdf"
    pdf.write_bytes(weasyprint.HTML(string=html).write_pdf())
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "HanaMin" in fonts, fonts  # Noto CJK has no glyph for them
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert RARE in text
