"""The benefit policies (政策清单): who grants what, on which legal basis, decided by which table.

Each policy's eligibility is the decision table ``rules/<code>.dmn`` (outputs ``eligible``,
``amount`` in CNY and ``reason``), over the registry facts of :mod:`onecity.benefits.facts`.
The legal bases name the kind of regulation each benefit rests on in Shanghai or nationally;
they are stated as plausible references for a synthetic city, not quotations: a deployment
replaces them with its own documents' exact titles and numbers, and its own tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from onecity.benefits.facts import Subject

RULES_DIR = Path(__file__).resolve().parent / "rules"


@dataclass(frozen=True)
class Department:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Policy:
    code: str
    department: str
    subject: Subject
    name_zh: str
    name_en: str
    #: the regulation it rests on (a plausible title, see the module's docstring)
    legal_basis: str
    #: what is granted, in a line
    benefit_zh: str
    benefit_en: str
    #: how often it is paid or given: once, monthly, yearly
    period: str

    @property
    def decision_id(self) -> str:
        return self.code

    @property
    def dmn_path(self) -> Path:
        return RULES_DIR / f"{self.code}.dmn"


DEPARTMENTS: dict[str, Department] = {
    d.code: d
    for d in (
        Department("mzj", "市民政局", "Civil Affairs Bureau"),
        Department("wjw", "市卫生健康委", "Health Commission"),
        Department("rsj", "市人力资源社会保障局", "Human Resources and Social Security Bureau"),
        Department("ybj", "市医疗保障局", "Healthcare Security Bureau"),
        Department("jtw", "市交通委", "Transport Commission"),
        Department("jw", "市教委", "Education Commission"),
        Department("fgw", "市发展改革委", "Development and Reform Commission"),
        Department("scjgj", "市市场监管局", "Administration for Market Regulation"),
        Department("swj", "市税务局", "Tax Service"),
        Department("nyw", "市农业农村委", "Agriculture and Rural Affairs Commission"),
        Department("fgj", "市住房城乡建设管理委", "Housing and Urban-Rural Development Commission"),
        Department("whlyj", "市文化旅游局", "Culture and Tourism Bureau"),
    )
}

P, F = Subject.PERSON, Subject.FIRM

POLICIES: tuple[Policy, ...] = (
    Policy(
        "old_age_allowance",
        "mzj",
        P,
        "老年综合津贴",
        "Old-age allowance",
        "《上海市老年综合津贴制度实施办法》（拟引）",
        "65周岁以上本市户籍老人按年龄段每月75–600元",
        "75–600 CNY a month by age band, Shanghai residents aged 65 and over",
        "monthly",
    ),
    Policy(
        "centenarian_gift",
        "mzj",
        P,
        "百岁老人长寿保健金",
        "Centenarians' longevity gift",
        "《上海市百岁老人长寿保健金发放办法》（拟引）",
        "百岁及以上本市户籍老人每年一次",
        "A yearly gift to Shanghai residents aged 100 and over",
        "yearly",
    ),
    Policy(
        "senior_card_issue",
        "mzj",
        P,
        "敬老卡免申办",
        "Senior citizen card, issued unasked",
        "《上海市老年人权益保障条例》（拟引）",
        "年满60周岁的本市户籍或持居住证老人自动制发敬老卡",
        "A senior citizen card for residents aged 60 and over with hukou or a residence permit",
        "once",
    ),
    Policy(
        "rural_elderly_supplement",
        "mzj",
        P,
        "崇明区农村老年人生活补贴",
        "Chongming rural elderly supplement",
        "《崇明区农村老年人生活补贴实施细则》（拟引）",
        "崇明区居住的本市户籍60周岁以上老人每月补贴",
        "A monthly supplement for residents of Chongming aged 60 and over",
        "monthly",
    ),
    Policy(
        "senior_free_transit",
        "jtw",
        P,
        "老年人免费乘坐公交",
        "Free public transport for seniors",
        "《上海市公共交通老年人优待办法》（拟引）",
        "70周岁以上持敬老卡者免费乘坐地面公交",
        "Free buses for card holders aged 70 and over",
        "once",
    ),
    Policy(
        "senior_flu_vaccine",
        "wjw",
        P,
        "老年人免费流感疫苗接种",
        "Free flu vaccination for seniors",
        "《上海市老年人流感疫苗免费接种工作方案》（拟引）",
        "60周岁以上本市户籍老人免费接种一剂流感疫苗",
        "One free flu vaccination a year for Shanghai residents aged 60 and over",
        "yearly",
    ),
    Policy(
        "colorectal_screening",
        "wjw",
        P,
        "社区大肠癌筛查",
        "Community colorectal cancer screening",
        "《上海市社区居民大肠癌筛查项目实施方案》（拟引）",
        "50–74周岁本市户籍居民免费初筛",
        "Free first screening for Shanghai residents aged 50 to 74",
        "once",
    ),
    Policy(
        "hpv_vaccine_girls",
        "wjw",
        P,
        "适龄女孩HPV疫苗免费接种",
        "Free HPV vaccination for girls",
        "《国家免疫规划适龄女孩HPV疫苗接种工作方案》（拟引）",
        "13–14周岁女孩免费接种HPV疫苗",
        "Free HPV vaccination for girls aged 13 and 14",
        "once",
    ),
    Policy(
        "childcare_subsidy",
        "wjw",
        P,
        "育儿补贴",
        "Childcare subsidy",
        "《育儿补贴制度实施方案》（国家，拟引）",
        "3周岁以下婴幼儿每年3600元",
        "3,600 CNY a year for each child under 3",
        "yearly",
    ),
    Policy(
        "newborn_medical_insurance",
        "ybj",
        P,
        "新生儿城乡居民医保参保",
        "Newborns' residents' medical insurance",
        "《上海市城乡居民基本医疗保险办法》（拟引）",
        "1周岁以下本市户籍或居住证家庭新生儿自动参保",
        "Insurance opened for newborns under 1 of hukou or permit families",
        "once",
    ),
    Policy(
        "long_term_care_assessment",
        "ybj",
        P,
        "长期护理保险需求评估",
        "Long-term care insurance assessment",
        "《上海市长期护理保险办法》（拟引）",
        "75周岁以上本市户籍老人免费需求评估",
        "A free care needs assessment for Shanghai residents aged 75 and over",
        "once",
    ),
    Policy(
        "social_security_card_issue",
        "rsj",
        P,
        "社会保障卡免申领",
        "Social security card, issued unasked",
        "《上海市社会保障卡管理办法》（拟引）",
        "16周岁以上尚无社保卡的本市户籍或持证人员",
        "A card for residents aged 16 and over without one",
        "once",
    ),
    Policy(
        "kindergarten_registration",
        "jw",
        P,
        "幼儿园入园登记",
        "Kindergarten registration",
        "《上海市学前教育条例》（拟引）",
        "3周岁适龄儿童自动纳入入园登记",
        "Children turning 3 are registered for kindergarten",
        "once",
    ),
    Policy(
        "public_rental_housing",
        "fgj",
        P,
        "公共租赁住房准入",
        "Public rental housing",
        "《上海市公共租赁住房管理办法》（拟引）",
        "持居住证、本市无房的成年人可申租公租房",
        "Adults with a residence permit and no home in the city may rent public housing",
        "once",
    ),
    Policy(
        "small_firm_fee_relief",
        "scjgj",
        F,
        "小微企业登记费用减免",
        "Small-firm registration fee relief",
        "《关于进一步支持小微企业和个体工商户发展的若干措施》（拟引）",
        "注册资本100万元以下的存续企业和个体工商户减免登记类费用",
        "Registration fees waived for active firms under 1 million CNY capital",
        "yearly",
    ),
    Policy(
        "startup_social_insurance",
        "rsj",
        F,
        "初创期创业组织社会保险费补贴",
        "Start-up social insurance subsidy",
        "《上海市鼓励创业带动就业专项资金管理办法》（拟引）",
        "成立3年内的存续企业每年补贴社保费",
        "Social insurance subsidised for active firms in their first three years",
        "yearly",
    ),
    Policy(
        "graduate_hiring_subsidy",
        "rsj",
        F,
        "吸纳高校毕业生就业补贴",
        "Graduate-hiring subsidy",
        "《关于做好高校毕业生等青年就业创业工作的通知》（拟引）",
        "信息、科研类存续企业吸纳应届毕业生按人补贴",
        "Per-hire subsidy for active IT and research firms hiring graduates",
        "once",
    ),
    Policy(
        "catering_energy_rebate",
        "fgw",
        F,
        "餐饮企业节能灶具补贴",
        "Energy-saving stove rebate for restaurants",
        "《上海市节能减排专项资金管理办法》（拟引）",
        "持食品经营许可证的住宿餐饮企业更换节能灶具补贴",
        "Rebate on energy-saving stoves for licensed restaurants",
        "once",
    ),
    Policy(
        "manufacturing_energy_retrofit",
        "fgw",
        F,
        "制造业节能技术改造补贴",
        "Manufacturing energy-saving retrofit",
        "《上海市节能和应对气候变化专项资金管理办法》（拟引）",
        "注册资本500万元以上的存续制造企业节能改造补贴",
        "Retrofit subsidy for active manufacturers with capital of 5 million CNY or more",
        "once",
    ),
    Policy(
        "individual_business_tax_relief",
        "swj",
        F,
        "个体工商户减半征收所得税",
        "Half income tax for individual businesses",
        "《关于进一步支持小微企业和个体工商户发展有关税费政策的公告》（国家，拟引）",
        "存续个体工商户经营所得减半征收",
        "Business income tax halved for active individual businesses",
        "yearly",
    ),
    Policy(
        "farmland_protection_subsidy",
        "nyw",
        F,
        "耕地地力保护补贴",
        "Farmland fertility protection subsidy",
        "《耕地地力保护补贴资金管理办法》（国家，拟引）",
        "农林牧渔业存续经营主体按面积补贴",
        "Per-area subsidy for active farming firms and co-operatives",
        "yearly",
    ),
    Policy(
        "culture_tourism_relief",
        "whlyj",
        F,
        "文旅企业纾困补贴",
        "Culture and tourism relief",
        "《上海市促进文旅消费扩容提质若干措施》（拟引）",
        "文化体育娱乐业存续企业纾困补贴",
        "Relief for active firms in culture, sports and entertainment",
        "once",
    ),
)

BY_CODE: dict[str, Policy] = {p.code: p for p in POLICIES}
