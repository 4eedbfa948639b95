from django.db import models


class Gender(models.TextChoices):
    """Gender as a resident ID number encodes it (odd 17th digit = male)."""

    MALE = "male", "男"
    FEMALE = "female", "女"
