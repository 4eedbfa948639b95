"""Password rules (MLPS level 3): at least 10 characters from at least three character classes."""

import string

from django.core.exceptions import ValidationError


class PasswordRulesValidator:
    def __init__(self, min_length: int = 10, min_classes: int = 3):
        self.min_length = min_length
        self.min_classes = min_classes

    def validate(self, password, user=None):
        if len(password) < self.min_length:
            raise ValidationError(f"密码太短，至少需要 {self.min_length} 个字符。", code="password_too_short")
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(c in string.punctuation or c == " " for c in password),
        ]
        if sum(classes) < self.min_classes:
            raise ValidationError("密码须包含大写字母、小写字母、数字、符号中的至少三类。", code="password_too_simple")

    def get_help_text(self):
        return f"至少 {self.min_length} 个字符，包含大写字母、小写字母、数字、符号中的至少三类。"
