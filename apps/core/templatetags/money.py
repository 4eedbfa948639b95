"""``{% load money %}`` → ``{{ amount|money }}`` renders ``¥1,234.00`` (see apps/core/money.py)."""

from django import template

from apps.core.money import format_money

register = template.Library()


@register.filter
def money(value):
    return format_money(value)
