from django.db import models


class UnitKind(models.TextChoices):
    """Kinds of org unit: the service system of the standard and the association's bodies."""

    PROVINCE = "province", "省级社会心理服务管理单位"
    CITY = "city", "市级社会心理服务管理单位"
    DISTRICT_CENTRE = "district_centre", "区社会心理服务指导中心"
    STREET_STATION = "street_station", "街道社会心理服务站"
    COMMUNITY_ROOM = "community_room", "社区社会心理服务室"
    COUNSELLING_ROOM = "counselling_room", "部门/企业心理咨询室"
    HEALTH_SECTION = "health_section", "社区卫生服务中心心理科"
    LEADERSHIP_GROUP = "leadership_group", "领导小组"
    ASSOCIATION = "association", "心理援助协会"
    DEPARTMENT = "department", "部门"
    COMMITTEE = "committee", "专业委员会"


class UnitLevel(models.TextChoices):
    """Evaluation level of the standard (Appendix F): A district, B street, C community."""

    A = "A", "A 级（区）"
    B = "B", "B 级（街道）"
    C = "C", "C 级（社区）"


# The level a kind carries by default; other kinds have no level.
KIND_LEVEL = {
    UnitKind.DISTRICT_CENTRE: UnitLevel.A,
    UnitKind.STREET_STATION: UnitLevel.B,
    UnitKind.COMMUNITY_ROOM: UnitLevel.C,
}

# Rank of the administrative kinds, top down: a unit may not sit under one of lower rank.
KIND_RANK = {
    UnitKind.PROVINCE: 0,
    UnitKind.CITY: 1,
    UnitKind.DISTRICT_CENTRE: 2,
    UnitKind.STREET_STATION: 3,
    UnitKind.COMMUNITY_ROOM: 4,
}
