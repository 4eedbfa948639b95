import json

from django import forms
from django.utils import timezone

from .choices import BandLevel
from .importers import read_definition_file
from .services import LINK_DAYS_DEFAULT, LINK_DAYS_MAX


def answer_fields(form: forms.Form, definition: dict, initial: dict | None = None, required: bool = True) -> None:
    """Add one radio field per item (``item_<n>``), choices valued by option score."""
    for item in definition["items"]:
        name = f"item_{item['number']}"
        form.fields[name] = forms.TypedChoiceField(
            label=f"{item['number']}. {item['text']}",
            choices=[(o["score"], o["label"]) for o in item["options"]],
            coerce=int,
            widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
            required=required,
            error_messages={"required": f"第 {item['number']} 题未作答。"},
        )
        if initial and str(item["number"]) in initial:
            form.fields[name].initial = initial[str(item["number"])]


def collected_answers(form: forms.Form) -> dict:
    return {
        name.removeprefix("item_"): value
        for name, value in form.cleaned_data.items()
        if name.startswith("item_") and value not in (None, "")
    }


class PaperEntryForm(forms.Form):
    """Paper answers entered by staff: when it was done, then one choice per item."""

    administered_on = forms.DateTimeField(
        label="测评时间",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )

    def __init__(self, *args, definition: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["administered_on"].initial = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
        answer_fields(self, definition)


class SelfReportForm(forms.Form):
    """The client's own answers on the phone; missing items are allowed when only saving progress."""

    def __init__(self, *args, definition: dict, initial_answers: dict, required: bool, **kwargs):
        super().__init__(*args, **kwargs)
        answer_fields(self, definition, initial_answers, required=required)


class LinkForm(forms.Form):
    scale = forms.ChoiceField(label="量表")
    days = forms.IntegerField(
        label="有效天数", min_value=1, max_value=LINK_DAYS_MAX, initial=LINK_DAYS_DEFAULT, help_text="过期后链接失效"
    )

    def __init__(self, *args, scales, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scale"].choices = [(s.code, f"{s.code} {s.name}") for s in scales]


class ScaleImportForm(forms.Form):
    file = forms.FileField(
        label="量表定义文件", required=False, help_text="JSON（.json）或 Excel（.xlsx），格式见《心理测评模块说明》"
    )
    text = forms.CharField(label="或粘贴 JSON", required=False, widget=forms.Textarea(attrs={"rows": 8}))

    def clean(self):
        data = super().clean()
        upload, text = data.get("file"), (data.get("text") or "").strip()
        if not upload and not text:
            raise forms.ValidationError("请上传文件或粘贴 JSON。")
        if upload:
            data["definition"] = read_definition_file(upload.name, upload.read())
        else:
            try:
                data["definition"] = json.loads(text)
            except json.JSONDecodeError as exc:
                raise forms.ValidationError(f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）。") from exc
        return data


class CutoffForm(forms.Form):
    """Min and max of each band of the scale's current version; codes, labels and levels stay."""

    def __init__(self, *args, bands: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.band_rows = []
        for index, band in enumerate(bands):
            low = forms.DecimalField(label=f"{band['label']} 最低分", initial=band["min"], decimal_places=2)
            high = forms.DecimalField(label=f"{band['label']} 最高分", initial=band["max"], decimal_places=2)
            self.fields[f"min_{index}"] = low
            self.fields[f"max_{index}"] = high
            self.band_rows.append((band, f"min_{index}", f"max_{index}"))

    def bands(self) -> list[dict]:
        return [
            {
                "code": band["code"],
                "label": band["label"],
                "level": band["level"],
                "min": str(self.cleaned_data[low]),
                "max": str(self.cleaned_data[high]),
            }
            for band, low, high in self.band_rows
        ]

    def rows(self):
        return [(band, BandLevel(band["level"]).label, self[low], self[high]) for band, low, high in self.band_rows]
