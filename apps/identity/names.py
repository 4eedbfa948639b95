"""Chinese personal names: surname split and pinyin search keys.

Search keys are the full pinyin and the initials, lower case, without tones or spaces:
曾小贤 → ("zengxiaoxian", "zxx"). A surname read differently from the character's everyday
reading (曾 zēng not céng, 单 shàn not dān) is read from ``SURNAME_READINGS`` when it is the
first character; compound surnames (欧阳, 尉迟 yùchí, 万俟 mòqí) from ``COMPOUND_SURNAMES`` when
the name has at least three characters (欧阳 alone is more likely surname 欧 + given name 阳).
Latin letters are kept, lower-cased, one word per syllable; digits and punctuation (the · of
transcribed names) are dropped.
"""

import re
import unicodedata

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")

# Readings of surnames whose surname reading differs from pypinyin's default for the character.
SURNAME_READINGS = {
    "曾": "zeng",
    "单": "shan",
    "仇": "qiu",
    "解": "xie",
    "查": "zha",
    "区": "ou",
    "朴": "piao",
    "乐": "yue",
    "缪": "miao",
    "秘": "bi",
    "盖": "ge",
    "葛": "ge",
    "种": "chong",
    "翟": "zhai",
    "覃": "qin",
    "黑": "he",
    "能": "nai",
    "繁": "po",
    "员": "yun",
    "折": "she",
    "句": "gou",
    "卜": "bu",
    "阚": "kan",
    "隗": "wei",
    "都": "du",
    "薄": "bo",
    "召": "shao",
    "长": "zhang",
    "重": "chong",
    "宿": "su",
    "祭": "zhai",
    "纪": "ji",
    "任": "ren",
    "华": "hua",
    "过": "guo",
    "冼": "xian",
    "洗": "xian",
    "尉": "wei",
    "柏": "bai",
    "相": "xiang",
    "殷": "yin",
    "车": "che",
    "曲": "qu",
    "角": "jue",
    "乜": "nie",
    "便": "pian",
    "厍": "she",
    "訾": "zi",
    "贲": "ben",
    "蕃": "pi",
    "令": "ling",
    "朝": "chao",
    "沈": "shen",
    "石": "shi",
    "万": "wan",
}

# Compound surnames. Left out on purpose: pairs that read more often as a common single surname
# plus a given name (单于, 乐正, 梁丘, 宗政): 单于飞 is 单 shàn + 于飞.
COMPOUND_SURNAMES = {
    "欧阳": ("ou", "yang"),
    "司马": ("si", "ma"),
    "上官": ("shang", "guan"),
    "诸葛": ("zhu", "ge"),
    "东方": ("dong", "fang"),
    "皇甫": ("huang", "fu"),
    "尉迟": ("yu", "chi"),
    "公孙": ("gong", "sun"),
    "慕容": ("mu", "rong"),
    "长孙": ("zhang", "sun"),
    "宇文": ("yu", "wen"),
    "司徒": ("si", "tu"),
    "司空": ("si", "kong"),
    "夏侯": ("xia", "hou"),
    "轩辕": ("xuan", "yuan"),
    "令狐": ("ling", "hu"),
    "钟离": ("zhong", "li"),
    "端木": ("duan", "mu"),
    "万俟": ("mo", "qi"),
    "澹台": ("tan", "tai"),
    "公冶": ("gong", "ye"),
    "濮阳": ("pu", "yang"),
    "淳于": ("chun", "yu"),
    "太叔": ("tai", "shu"),
    "申屠": ("shen", "tu"),
    "南宫": ("nan", "gong"),
    "闻人": ("wen", "ren"),
    "赫连": ("he", "lian"),
    "呼延": ("hu", "yan"),
    "独孤": ("du", "gu"),
    "西门": ("xi", "men"),
    "百里": ("bai", "li"),
    "东郭": ("dong", "guo"),
    "左丘": ("zuo", "qiu"),
    "第五": ("di", "wu"),
    "拓跋": ("tuo", "ba"),
    "完颜": ("wan", "yan"),
    "公羊": ("gong", "yang"),
    "仲孙": ("zhong", "sun"),
    "亓官": ("qi", "guan"),
    "司寇": ("si", "kou"),
    "巫马": ("wu", "ma"),
    "公西": ("gong", "xi"),
    "漆雕": ("qi", "diao"),
}


def _clean(name) -> str:
    return unicodedata.normalize("NFKC", str(name or "")).strip()


def split_surname(name) -> tuple[str, str]:
    """Split a Chinese name into (surname, rest); ("", name) when it does not start with a Han character."""
    name = _clean(name)
    if not name or not HAN.match(name[0]):
        return "", name
    if name[:2] in COMPOUND_SURNAMES and len(HAN.findall(name)) >= 3:
        return name[:2], name[2:]
    return name[0], name[1:]


def _tokens(text: str):
    """Yield ("han", run) for runs of Han characters and ("latin", word) for runs of Latin letters."""
    kind, run = None, []
    for char in text:
        if HAN.match(char):
            this, piece = "han", char
        else:
            piece = "".join(c for c in unicodedata.normalize("NFKD", char) if c.isascii() and c.isalpha())
            this = "latin" if piece else None
        if this != kind and run:
            yield kind, "".join(run)
            run = []
        kind = this
        if this:
            run.append(piece)
    if run and kind:
        yield kind, "".join(run)


def pinyin_syllables(name) -> list[str]:
    """The name read syllable by syllable (a Latin word counts as one), lower case, no tones."""
    # pypinyin loads its phrase dictionary on import (about 0.3 s): import it only when used.
    from pypinyin import Style, lazy_pinyin

    surname, rest = split_surname(name)
    syllables = []
    if surname in COMPOUND_SURNAMES:
        syllables += COMPOUND_SURNAMES[surname]
    elif surname:
        syllables.append(SURNAME_READINGS.get(surname) or "".join(lazy_pinyin(surname, style=Style.NORMAL)))
    for kind, run in _tokens(rest if surname else _clean(name)):
        if kind == "han":
            syllables += lazy_pinyin(run, style=Style.NORMAL, errors="ignore")
        else:
            syllables.append(run.lower())
    return [s.lower() for s in syllables if s]


def pinyin_keys(name) -> tuple[str, str]:
    """X-2: (full pinyin, initials) for searching a person by name: 单田芳 → ("shantianfang", "stf")."""
    syllables = pinyin_syllables(name)
    return "".join(syllables), "".join(s[0] for s in syllables)
