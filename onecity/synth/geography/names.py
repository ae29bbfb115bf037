"""Plausible names for generated communities and villages, in Chinese and in pinyin.

Shanghai's residents' committees and villages carry short auspicious or topographic names
(新华, 长桥, 金塘…). A name here is two syllables from :data:`SYLLABLES`; the English form
joins their pinyin without tone marks and puts an apostrophe before a syllable that starts
with a vowel (``Xin'an``), as the national romanisation rules do.
"""

from __future__ import annotations

import numpy as np

#: (character, pinyin) pairs; readings chosen so that every character has one obvious one.
SYLLABLES: tuple[tuple[str, str], ...] = (
    ("安", "an"),
    ("宝", "bao"),
    ("北", "bei"),
    ("滨", "bin"),
    ("长", "chang"),
    ("春", "chun"),
    ("翠", "cui"),
    ("大", "da"),
    ("德", "de"),
    ("东", "dong"),
    ("丰", "feng"),
    ("枫", "feng"),
    ("福", "fu"),
    ("港", "gang"),
    ("光", "guang"),
    ("桂", "gui"),
    ("海", "hai"),
    ("和", "he"),
    ("河", "he"),
    ("红", "hong"),
    ("虹", "hong"),
    ("湖", "hu"),
    ("华", "hua"),
    ("欢", "huan"),
    ("佳", "jia"),
    ("建", "jian"),
    ("江", "jiang"),
    ("金", "jin"),
    ("锦", "jin"),
    ("泾", "jing"),
    ("景", "jing"),
    ("康", "kang"),
    ("兰", "lan"),
    ("乐", "le"),
    ("联", "lian"),
    ("林", "lin"),
    ("柳", "liu"),
    ("龙", "long"),
    ("绿", "lü"),
    ("梅", "mei"),
    ("美", "mei"),
    ("民", "min"),
    ("明", "ming"),
    ("南", "nan"),
    ("宁", "ning"),
    ("平", "ping"),
    ("浦", "pu"),
    ("桥", "qiao"),
    ("庆", "qing"),
    ("青", "qing"),
    ("泉", "quan"),
    ("仁", "ren"),
    ("荣", "rong"),
    ("瑞", "rui"),
    ("三", "san"),
    ("沙", "sha"),
    ("山", "shan"),
    ("盛", "sheng"),
    ("石", "shi"),
    ("顺", "shun"),
    ("松", "song"),
    ("塘", "tang"),
    ("桃", "tao"),
    ("泰", "tai"),
    ("天", "tian"),
    ("田", "tian"),
    ("通", "tong"),
    ("万", "wan"),
    ("文", "wen"),
    ("西", "xi"),
    ("溪", "xi"),
    ("祥", "xiang"),
    ("新", "xin"),
    ("兴", "xing"),
    ("星", "xing"),
    ("秀", "xiu"),
    ("阳", "yang"),
    ("杨", "yang"),
    ("怡", "yi"),
    ("义", "yi"),
    ("银", "yin"),
    ("永", "yong"),
    ("友", "you"),
    ("渔", "yu"),
    ("园", "yuan"),
    ("悦", "yue"),
    ("云", "yun"),
    ("振", "zhen"),
    ("中", "zhong"),
    ("竹", "zhu"),
)

COMMUNITY_SUFFIX = ("社区居委会", "Community")
VILLAGE_SUFFIX = ("村村委会", "Village")


def romanise(first: str, second: str) -> str:
    """Two pinyin syllables as one capitalised word, with the syllable-dividing apostrophe."""
    joiner = "'" if second[0] in "aeo" else ""
    return (first + joiner + second).capitalize()


def unique_names(count: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """``count`` distinct two-syllable names (Chinese, pinyin), drawn with ``rng``.

    Distinct within one township, where people tell their committees apart by name; the same
    name may recur elsewhere in the city, as 新华 or 红旗 do in real life. Names whose
    pinyin would clash (丰华 and 枫华 are both Fenghua) are not both used in one township.
    """
    n = len(SYLLABLES)
    if count > n * (n - 1):
        raise ValueError(f"cannot draw {count} distinct names from {n} syllables")
    chosen: list[tuple[str, str]] = []
    seen_zh: set[str] = set()
    seen_en: set[str] = set()
    while len(chosen) < count:
        i, j = (int(v) for v in rng.integers(0, n, size=2))
        if i == j:
            continue
        zh = SYLLABLES[i][0] + SYLLABLES[j][0]
        en = romanise(SYLLABLES[i][1], SYLLABLES[j][1])
        if zh in seen_zh or en in seen_en:
            continue
        seen_zh.add(zh)
        seen_en.add(en)
        chosen.append((zh, en))
    return chosen
