"""The published figures the synthetic city is drawn from, each with its source.

Everything the seed generator needs to make a population "like Shanghai's" is here as data,
so a reader can check a number against its source without reading the generator. Where a
figure is an approximation (the census publishes it only in long-form tables, or only for
the city as a whole) the comment says so; the sums that matter (total population, the age
groups, the sex ratio, the migrant share) match the published bulletin exactly.

Sources:
  [C7]  上海市第七次全国人口普查主要数据公报 (Shanghai Statistics Bureau, 2021-05-18):
        24,870,895 residents; male 51.77 %, female 48.23 %; aged 0–14 9.80 %, 15–59 66.82 %,
        60+ 23.38 %, 65+ 16.28 %; 10,479,652 residents from other provinces (42.1 %).
  [C7D] 上海市第七次全国人口普查 区县常住人口 (the 16 districts' bulletins, 2021): district totals.
  [C7L] 上海市2020年人口普查资料 (long-form tables): origins of residents from other provinces —
        Anhui, Jiangsu, Henan, Sichuan, Jiangxi, Zhejiang, Hubei, Shandong, Fujian lead; shares
        below are rounded approximations of those tables.
  [SUR] 2020年全国姓名报告 (Ministry of Public Security household-registration office, 2021):
        the most common surnames and their shares (rounded).
  [GB4754] GB/T 4754-2017 国民经济行业分类: sections A–T; shares of Shanghai's registered firms
        are approximations in the shape of the 2023 market-entity statistics (wholesale/retail,
        leasing/business services and tech services dominate).
"""

from __future__ import annotations

from datetime import date

#: The registries describe the city as of this date (the seed never reads the wall clock, so
#: the same seed gives the same ages and validity periods whenever it runs).
AS_OF = date(2026, 1, 1)

#: Residents at scale 1 [C7].
POPULATION = 24_870_895
#: Registered legal persons and other organisations at scale 1 (Shanghai: over 2 million
#: enterprises in 2023–24, plus institutions and social organisations).
LEGAL_PERSONS = 2_240_000
#: Managed city components at scale 1 (12.02 million, 2016, see onecity/data/SOURCES.md).
COMPONENTS = 12_020_000

#: District → (resident population [C7D], share of residents from other provinces).
#: The migrant shares are approximations that reproduce the city-wide 42.1 % [C7]: the
#: inner districts are about a quarter migrant, the outer new towns over half.
DISTRICTS: dict[str, tuple[int, float]] = {
    "310101": (662_030, 0.22),  # 黄浦
    "310104": (1_113_078, 0.26),  # 徐汇
    "310105": (693_051, 0.26),  # 长宁
    "310106": (975_707, 0.25),  # 静安
    "310107": (1_239_822, 0.27),  # 普陀
    "310109": (757_498, 0.24),  # 虹口
    "310110": (1_242_548, 0.24),  # 杨浦
    "310112": (2_653_489, 0.47),  # 闵行
    "310113": (2_235_218, 0.43),  # 宝山
    "310114": (1_834_258, 0.55),  # 嘉定
    "310115": (5_681_512, 0.40),  # 浦东新区
    "310116": (822_776, 0.42),  # 金山
    "310117": (1_909_670, 0.60),  # 松江
    "310118": (1_271_424, 0.58),  # 青浦
    "310120": (1_140_872, 0.50),  # 奉贤
    "310151": (637_941, 0.24),  # 崇明
}
MIGRANT_SHARE = 0.421

#: Five-year age bands (lower bound, share of residents %, share male). Shares within the
#: published groups are approximations; the group sums are exact [C7]: 0–14 9.80, 15–59 66.82,
#: 60–64 7.10 (= 23.38 − 16.28), 65+ 16.28. Sex shares give 51.77 % male overall: working ages
#: lean male (migrant workers), the oldest lean female.
AGE_BANDS: tuple[tuple[int, float, float], ...] = (
    (0, 3.00, 0.520),
    (5, 3.50, 0.520),
    (10, 3.30, 0.520),
    (15, 3.00, 0.532),
    (20, 6.00, 0.532),
    (25, 8.30, 0.532),
    (30, 10.20, 0.532),
    (35, 9.00, 0.532),
    (40, 7.60, 0.532),
    (45, 7.40, 0.532),
    (50, 7.70, 0.532),
    (55, 7.62, 0.532),
    (60, 7.10, 0.500),
    (65, 6.90, 0.480),
    (70, 4.50, 0.480),
    (75, 2.30, 0.440),
    (80, 1.50, 0.440),
    (85, 1.08, 0.420),
)
#: The last band spans 85–99.
OLDEST_BAND_YEARS = 15
#: Probability of being from another province by band, before the district factor: children
#: and the elderly are mostly Shanghai hukou, working ages mostly not; weighted by the bands
#: this gives the city-wide 42.1 %.
MIGRANT_BY_AGE: tuple[float, ...] = (
    0.35,
    0.35,
    0.35,
    0.46,
    0.62,
    0.64,
    0.60,
    0.56,
    0.54,
    0.50,
    0.46,
    0.40,
    0.20,
    0.14,
    0.10,
    0.08,
    0.06,
    0.05,
)

#: Province of origin of residents from other provinces, share % [C7L, approximate], and real
#: county-level GB/T 2260 codes to draw from (high-emigration counties of each province).
MIGRANT_ORIGINS: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    (
        "安徽",
        28.0,
        (
            "340102",
            "340121",
            "340122",
            "340123",
            "340321",
            "340322",
            "341221",
            "341222",
            "341225",
            "341226",
            "341321",
            "341322",
            "341323",
            "341324",
            "341621",
            "341622",
            "341623",
            "341522",
        ),
    ),
    (
        "江苏",
        15.0,
        (
            "320321",
            "320322",
            "320324",
            "320381",
            "320723",
            "320724",
            "320826",
            "320830",
            "320922",
            "320923",
            "320924",
            "321323",
            "321324",
            "320682",
            "321281",
        ),
    ),
    (
        "河南",
        9.5,
        (
            "410102",
            "411421",
            "411422",
            "411481",
            "411621",
            "411622",
            "411625",
            "411627",
            "411628",
            "411721",
            "411526",
            "411527",
            "411528",
        ),
    ),
    (
        "四川",
        5.5,
        (
            "510104",
            "511321",
            "511322",
            "511323",
            "511324",
            "511381",
            "510722",
            "511921",
            "511922",
            "511923",
            "512021",
            "511621",
        ),
    ),
    ("江西", 5.0, ("360102", "360121", "360321", "361127", "361128", "360722", "360730", "360423", "361024")),
    ("浙江", 4.8, ("330102", "330324", "330327", "330381", "330382", "330681", "331081", "330782", "331122")),
    ("湖北", 4.2, ("420102", "420921", "421123", "421124", "421126", "421127", "421182", "420682", "421022")),
    ("山东", 4.0, ("370102", "371721", "371723", "371724", "371726", "371728", "371321", "371324", "370828")),
    ("福建", 2.8, ("350102", "350322", "350524", "350581", "350582", "350583", "350623", "350821")),
    ("湖南", 2.6, ("430102", "430621", "430923", "431021", "430681", "430422")),
    ("重庆", 2.4, ("500101", "500229", "500230", "500231", "500233", "500235", "500236", "500237")),
    ("贵州", 1.6, ("520102", "520121", "522622", "522631")),
    ("甘肃", 1.4, ("620102", "621121", "621122", "621221")),
    ("河北", 1.5, ("130102", "130434", "130529", "131121")),
    ("黑龙江", 1.3, ("230102", "230221", "231222")),
    ("陕西", 1.1, ("610102", "610922", "610426")),
    ("广西", 1.0, ("450102", "450921", "450922")),
    ("云南", 0.9, ("530102", "530124", "532823")),
    ("山西", 0.9, ("140105", "141121")),
    ("辽宁", 0.9, ("210102", "211224")),
    ("吉林", 0.8, ("220102", "220322")),
    ("广东", 0.9, ("440103", "441581", "445222")),
    ("内蒙古", 0.4, ("150102",)),
    ("北京", 0.5, ("110101", "110105", "110108")),
    ("天津", 0.4, ("120101", "120104")),
    ("新疆", 0.3, ("650102",)),
    ("宁夏", 0.2, ("640104",)),
    ("青海", 0.1, ("630102",)),
    ("海南", 0.2, ("460105",)),
)

#: Shanghai district codes that were abolished but still begin older residents' ID numbers:
#: (old code, its successor district, year of abolition). 卢湾 merged into 黄浦 (2011), 闸北
#: into 静安 (2015), 崇明县 became 崇明区 (2016), 南汇区 merged into 浦东 (2009).
HISTORIC_CODES: tuple[tuple[str, str, int], ...] = (
    ("310103", "310101", 2011),
    ("310108", "310106", 2015),
    ("310230", "310151", 2016),
    ("310119", "310115", 2009),
)

#: Most common surnames, share of the population % [SUR, rounded], plus a tail of other
#: common ones drawn uniformly from the remaining mass.
SURNAMES: tuple[tuple[str, float], ...] = (
    ("王", 7.12),
    ("李", 7.00),
    ("张", 6.74),
    ("刘", 5.10),
    ("陈", 4.61),
    ("杨", 3.22),
    ("黄", 2.45),
    ("赵", 2.19),
    ("吴", 2.08),
    ("周", 2.05),
    ("徐", 1.67),
    ("孙", 1.54),
    ("马", 1.44),
    ("朱", 1.26),
    ("胡", 1.16),
    ("郭", 1.13),
    ("何", 1.06),
    ("林", 1.02),
    ("罗", 1.00),
    ("高", 1.00),
    ("郑", 0.82),
    ("梁", 0.81),
    ("谢", 0.76),
    ("宋", 0.70),
    ("唐", 0.67),
    ("许", 0.66),
    ("韩", 0.63),
    ("邓", 0.62),
    ("冯", 0.62),
    ("曹", 0.60),
    ("彭", 0.59),
    ("曾", 0.58),
    ("肖", 0.56),
    ("田", 0.53),
    ("董", 0.52),
    ("潘", 0.50),
    ("袁", 0.50),
    ("蔡", 0.47),
    ("蒋", 0.47),
    ("余", 0.45),
    ("于", 0.45),
    ("杜", 0.43),
    ("叶", 0.42),
    ("程", 0.41),
    ("魏", 0.40),
    ("苏", 0.39),
    ("吕", 0.39),
    ("丁", 0.38),
    ("任", 0.37),
    ("卢", 0.36),
    ("姚", 0.35),
    ("沈", 0.35),
    ("钟", 0.34),
    ("姜", 0.34),
    ("崔", 0.33),
    ("谭", 0.33),
    ("陆", 0.32),
    ("范", 0.30),
    ("汪", 0.30),
    ("廖", 0.29),
    ("石", 0.29),
    ("金", 0.28),
    ("韦", 0.27),
    ("贾", 0.27),
    ("夏", 0.27),
    ("付", 0.26),
    ("方", 0.25),
    ("邹", 0.24),
    ("熊", 0.24),
    ("白", 0.24),
    ("孟", 0.23),
    ("秦", 0.23),
    ("邱", 0.23),
    ("侯", 0.22),
    ("江", 0.22),
    ("尹", 0.21),
    ("薛", 0.20),
    ("闫", 0.20),
    ("段", 0.19),
    ("雷", 0.19),
    ("龙", 0.18),
    ("黎", 0.18),
    ("史", 0.18),
    ("陶", 0.17),
    ("贺", 0.17),
    ("毛", 0.16),
    ("郝", 0.16),
    ("顾", 0.16),
    ("龚", 0.15),
    ("邵", 0.15),
    ("万", 0.15),
    ("覃", 0.14),
    ("武", 0.14),
    ("钱", 0.14),
    ("戴", 0.13),
    ("严", 0.13),
    ("欧阳", 0.05),
    ("诸葛", 0.01),
)

#: Characters common in given names, by sex (names are one character 15 % of the time, else two).
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩俊峰建国志文博晨阳一凯帅天龙海东亮睿轩子豪宏林成"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英玲婷雪慧琳颖倩洁佳欣怡梦瑶悦雨晴萱诗琪思涵可馨彤露月美红兰燕萍丹"
GIVEN_SINGLE_SHARE = 0.15

#: GB/T 4754-2017 sections with an approximate share % of Shanghai's registered firms [GB4754].
INDUSTRY_SECTIONS: tuple[tuple[str, str, float, str], ...] = (
    ("A", "农、林、牧、渔业", 0.8, "农业"),
    ("B", "采矿业", 0.05, "矿业"),
    ("C", "制造业", 8.5, "制造"),
    ("D", "电力、热力、燃气及水生产和供应业", 0.4, "能源"),
    ("E", "建筑业", 5.0, "建设工程"),
    ("F", "批发和零售业", 30.0, "贸易"),
    ("G", "交通运输、仓储和邮政业", 3.5, "物流"),
    ("H", "住宿和餐饮业", 5.5, "餐饮管理"),
    ("I", "信息传输、软件和信息技术服务业", 9.0, "信息技术"),
    ("J", "金融业", 1.5, "投资管理"),
    ("K", "房地产业", 2.5, "置业"),
    ("L", "租赁和商务服务业", 16.0, "企业管理咨询"),
    ("M", "科学研究和技术服务业", 11.0, "科技"),
    ("N", "水利、环境和公共设施管理业", 0.8, "环境工程"),
    ("O", "居民服务、修理和其他服务业", 2.0, "家政服务"),
    ("P", "教育", 1.0, "教育科技"),
    ("Q", "卫生和社会工作", 0.6, "健康管理"),
    ("R", "文化、体育和娱乐业", 2.5, "文化传媒"),
    ("S", "公共管理、社会保障和社会组织", 0.1, "服务"),
    ("T", "国际组织", 0.01, "代表处"),
)

#: Trade names (字号) are two characters drawn from these.
TRADE_NAME_CHARS = "华盛鑫源泰丰恒达信诚嘉禾瑞祥宏远东方金海天润中博凯越锦程新辰安和永隆佳联创汇通宝聚元晟"

#: GB 32100 kinds of registered organisations and their share % (enterprises dominate).
ORG_KINDS: tuple[tuple[str, float], ...] = (
    ("91", 88.0),
    ("92", 5.0),
    ("93", 0.4),
    ("12", 1.6),
    ("11", 0.4),
    ("51", 1.2),
    ("52", 3.2),
    ("53", 0.2),
)

#: Share % of registered firms by district (approximate: the central business districts and
#: Pudong register more firms per resident; Chongming and Qingpu host many registered-address
#: companies).
FIRMS_BY_DISTRICT: dict[str, float] = {
    "310101": 3.5,
    "310104": 5.0,
    "310105": 3.8,
    "310106": 5.5,
    "310107": 4.2,
    "310109": 3.5,
    "310110": 4.5,
    "310112": 8.5,
    "310113": 6.5,
    "310114": 8.0,
    "310115": 20.0,
    "310116": 4.0,
    "310117": 7.0,
    "310118": 5.5,
    "310120": 5.5,
    "310151": 4.5,
}

#: Scale-1 GDP per district in 100 million CNY for 2025 (the city total about 5.6 trillion;
#: district shares approximate the published 2024 figures).
GDP_2025: dict[str, float] = {
    "310101": 3_250,
    "310104": 2_900,
    "310105": 2_150,
    "310106": 2_900,
    "310107": 1_400,
    "310109": 1_250,
    "310110": 2_800,
    "310112": 3_200,
    "310113": 1_850,
    "310114": 2_800,
    "310115": 17_500,
    "310116": 1_350,
    "310117": 2_050,
    "310118": 1_600,
    "310120": 1_500,
    "310151": 450,
}
#: Retail sales of consumer goods as a share of GDP (Shanghai 2024: about 1.6 of 5.4 trillion).
RETAIL_SHARE_OF_GDP = 0.30
#: Seasonal factors of monthly activity (January … December; they average to 1).
SEASONAL = (0.93, 0.80, 0.98, 0.98, 1.00, 1.06, 0.98, 0.98, 1.02, 1.00, 1.04, 1.23)
