"""The built-in catalogue: every base registry the hub holds, described once, here.

Owners are the municipal agencies that are the registries' legal sources in Shanghai
(public security for the population register, market regulation for the business
register…). Field names equal the registry columns, so the sharing query can serve a
granted field straight from its table. Sensitivity follows PIPL: an ID number is
*sensitive personal information* (it identifies a person on its own and unlocks others),
names, birth dates, phones and home addresses are *personal*, a firm's name and credit
code are *public* (the business register is published).
"""

from __future__ import annotations

from dataclasses import dataclass

from onecity.core.divisions import MUNICIPALITY_CODE
from onecity.hub.catalogue.masking import Masking
from onecity.hub.catalogue.models import Frequency, Sensitivity
from onecity.hub.catalogue.vocab import Theme

PUB, INT, PER, SEN = Sensitivity.PUBLIC, Sensitivity.INTERNAL, Sensitivity.PERSONAL, Sensitivity.SENSITIVE

#: Dataset codes with this prefix are the hub's own; agencies register theirs under their own prefix.
BUILTIN_PREFIX = "hub."


@dataclass(frozen=True)
class FieldSpec:
    name: str
    title: str
    title_en: str
    sensitivity: Sensitivity
    masking: Masking | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset description as the service functions take it (from here or from the API)."""

    code: str
    title: str
    title_en: str
    description: str
    description_en: str
    owner_agency_code: str
    theme: Theme
    update_frequency: Frequency
    lineage: str
    fields: tuple[FieldSpec, ...]
    keywords: tuple[str, ...] = ()
    division_code: str = MUNICIPALITY_CODE
    source_table: str | None = None


@dataclass(frozen=True)
class AgencySpec:
    code: str
    name: str
    name_en: str
    division_code: str = MUNICIPALITY_CODE


AGENCIES: tuple[AgencySpec, ...] = (
    AgencySpec("sh-bdc", "上海市大数据中心", "Shanghai Big Data Center"),
    AgencySpec("sh-psb", "上海市公安局", "Shanghai Municipal Public Security Bureau"),
    AgencySpec("sh-samr", "上海市市场监督管理局", "Shanghai Administration for Market Regulation"),
    AgencySpec("sh-uomc", "上海市城市运行管理中心", "Shanghai Urban Operation Management Center"),
    AgencySpec("sh-stats", "上海市统计局", "Shanghai Municipal Statistics Bureau"),
    AgencySpec("sh-mca", "上海市民政局", "Shanghai Municipal Civil Affairs Bureau"),
)
#: The agency that publishes the catalogue itself (DCAT's catalogue publisher).
CATALOGUE_PUBLISHER = "sh-bdc"

F = FieldSpec

DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        code="hub.person",
        title="人口基础信息库",
        title_en="Population base registry",
        description="本市实有人口的自然人基础信息：公民身份号码、姓名、性别、出生日期、户籍地、居住地和联系方式。"
        "包含个人信息和敏感个人信息，只能按授权的字段、目的和区域共享，每次读取均记入审计日志。",
        description_en="Natural persons living in the city: resident ID number, name, sex, birth date, household "
        "registration, residence and contact. Holds personal and sensitive personal information: shared "
        "only by grant (fields, purpose, area) and every read is audited.",
        owner_agency_code="sh-psb",
        theme=Theme.SOCIETY,
        update_frequency=Frequency.DAILY,
        lineage="由公安人口管理信息系统每日同步；公民身份号码经 GB 11643 校验码校验，居住地落到居村委会。"
        " / Synchronised daily from the public-security population system; ID numbers pass the GB 11643 "
        "check digit; residence resolved to the community or village.",
        keywords=(
            "人口",
            "自然人",
            "户籍",
            "居民",
            "身份证",
            "population",
            "natural person",
            "resident",
            "household registration",
            "hukou",
        ),
        source_table="persons",
        fields=(
            F("id", "记录编号", "Record id", INT),
            F("id_number", "公民身份号码", "Resident ID number", SEN, Masking.ID_NUMBER),
            F("name", "姓名", "Name", PER, Masking.NAME),
            F("sex", "性别", "Sex", PER, Masking.REDACT),
            F("birth_date", "出生日期", "Birth date", PER, Masking.DATE),
            F("hukou_region", "户籍地区划", "Household registration region", PER, Masking.REGION),
            F("division_code", "居住地区划代码", "Residence division code", INT),
            F("address", "居住地址", "Residential address", PER, Masking.ADDRESS),
            F("phone", "联系电话", "Phone number", PER, Masking.PHONE),
            F("status", "人口状态", "Status", INT),
            F("updated_at", "更新时间", "Updated at", INT),
        ),
    ),
    DatasetSpec(
        code="hub.legal_person",
        title="法人基础信息库",
        title_en="Legal person base registry",
        description="在本市登记的企业、个体工商户、社会组织和机关事业单位：统一社会信用代码、名称、类型、行业、"
        "法定代表人、注册地址、成立日期、注册资本和登记状态。",
        description_en="Firms, sole traders, social organisations and public bodies registered in the city: unified "
        "social credit code, name, kind, industry, legal representative, registered address, date of "
        "establishment, registered capital and status.",
        owner_agency_code="sh-samr",
        theme=Theme.ECONOMY,
        update_frequency=Frequency.DAILY,
        lineage="由市场主体登记系统每日同步；统一社会信用代码经 GB 32100 校验码校验，法定代表人关联人口库。"
        " / Synchronised daily from the business registration system; credit codes pass the GB 32100 check "
        "digit; legal representatives resolve to the population registry.",
        keywords=(
            "法人",
            "企业",
            "市场主体",
            "统一社会信用代码",
            "营业执照",
            "legal person",
            "firm",
            "company",
            "enterprise",
            "business register",
            "credit code",
        ),
        source_table="legal_persons",
        fields=(
            F("id", "记录编号", "Record id", INT),
            F("uscc", "统一社会信用代码", "Unified social credit code", PUB),
            F("name", "名称", "Name", PUB),
            F("kind", "机构类型", "Organisation kind", PUB),
            F("industry", "行业门类", "Industry section (GB/T 4754)", PUB),
            F("legal_rep_id", "法定代表人", "Legal representative (person id)", PER, Masking.REDACT),
            F("division_code", "注册地区划代码", "Registered division code", PUB),
            F("address", "注册地址", "Registered address", PUB),
            F("established_on", "成立日期", "Established on", PUB),
            F("registered_capital", "注册资本（万元）", "Registered capital (10,000 CNY)", PUB),
            F("status", "登记状态", "Registration status", PUB),
            F("updated_at", "更新时间", "Updated at", INT),
        ),
    ),
    DatasetSpec(
        code="hub.component",
        title="城市部件库",
        title_en="City components registry",
        description="按 GB/T 30428 分类的城市部件（窨井盖、路灯、垃圾箱、消火栓、报刊亭、行道树、公交站亭等），"
        "定位到单元网格，含权属单位和完好状态。",
        description_en="City components classified by GB/T 30428 (manhole covers, street lamps, litter bins, "
        "hydrants, kiosks, street trees, bus shelters…), located in unit grids, with owner and state.",
        owner_agency_code="sh-uomc",
        theme=Theme.REGIONS,
        update_frequency=Frequency.DAILY,
        lineage="网格化普查建库，网格监督员巡查和事件处置后更新。 / Built by the grid census; updated by grid "
        "inspectors' rounds and closed events.",
        keywords=(
            "城市部件",
            "部件",
            "网格化管理",
            "井盖",
            "路灯",
            "component",
            "city component",
            "manhole",
            "street lamp",
            "grid management",
        ),
        source_table="components",
        fields=(
            F("id", "记录编号", "Record id", INT),
            F("code", "部件编码", "Component code", PUB),
            F("class_code", "部件类别", "Component class", PUB),
            F("grid_code", "单元网格", "Unit grid", PUB),
            F("division_code", "所在区划代码", "Division code", PUB),
            F("lon", "经度", "Longitude", PUB),
            F("lat", "纬度", "Latitude", PUB),
            F("owner_department", "权属单位", "Owner department", PUB),
            F("status", "部件状态", "Status", PUB),
            F("updated_at", "更新时间", "Updated at", INT),
        ),
    ),
    DatasetSpec(
        code="hub.certificate",
        title="电子证照库",
        title_en="E-certificate registry",
        description="政府部门签发给个人和法人的电子证照（身份证、户口簿、营业执照、食品经营许可证、不动产权证书、"
        "结婚证、出生医学证明等），按 GB/T 36903 元数据描述。",
        description_en="E-certificates issued to persons and legal persons (ID card, household register, business "
        "licence, food business licence, real-estate certificate, marriage certificate, birth medical "
        "certificate…), described with the GB/T 36903 metadata model.",
        owner_agency_code="sh-bdc",
        theme=Theme.GOVERNMENT,
        update_frequency=Frequency.CONTINUOUS,
        lineage="各发证部门签发时实时归集，吊销和过期状态同步更新。 / Collected from issuing agencies as they issue; "
        "revocation and expiry kept in step.",
        keywords=("电子证照", "证照", "营业执照", "许可证", "certificate", "e-certificate", "licence", "license"),
        source_table="certificates",
        fields=(
            F("id", "记录编号", "Record id", INT),
            F("type_code", "证照类型", "Certificate type", PUB),
            F("number", "证照编号", "Certificate number", SEN, Masking.ID_NUMBER),
            F("holder_kind", "持证主体类型", "Holder kind", INT),
            F("holder_identifier", "持证主体代码", "Holder ID number or credit code", SEN, Masking.ID_NUMBER),
            F("holder_name", "持证主体名称", "Holder name", PER, Masking.NAME),
            F("issuer", "发证机关", "Issuer", PUB),
            F("issued_on", "发证日期", "Issued on", INT),
            F("valid_until", "有效期至", "Valid until", INT),
            F("status", "证照状态", "Status", INT),
            F("division_code", "所在区划代码", "Division code", INT),
            F("data", "照面信息", "Certificate content", SEN, Masking.REDACT),
        ),
    ),
    DatasetSpec(
        code="hub.indicator",
        title="宏观经济社会指标",
        title_en="Macro indicators",
        description="各区按月的宏观经济和社会指标（生产总值、常住人口、税收、就业等）。",
        description_en="Monthly macroeconomic and social indicators for each district (output, resident "
        "population, tax revenue, employment…).",
        owner_agency_code="sh-stats",
        theme=Theme.ECONOMY,
        update_frequency=Frequency.MONTHLY,
        lineage="统计部门月度汇总发布。 / Compiled and published monthly by the statistics bureau.",
        keywords=("指标", "统计", "宏观经济", "indicator", "statistics", "macroeconomic", "GDP"),
        source_table="indicators",
        fields=(
            F("code", "指标代码", "Indicator code", PUB),
            F("district_code", "区代码", "District code", PUB),
            F("month", "月份", "Month", PUB),
            F("value", "数值", "Value", PUB),
            F("unit", "单位", "Unit", PUB),
        ),
    ),
    DatasetSpec(
        code="hub.division",
        title="行政区划",
        title_en="Administrative divisions",
        description="上海市、16 个区、街道乡镇和居村委会的 GB/T 2260 统计用区划代码和名称。",
        description_en="GB/T 2260 statistical codes and names of the municipality, its 16 districts, the townships "
        "and the communities and villages.",
        owner_agency_code="sh-mca",
        theme=Theme.REGIONS,
        update_frequency=Frequency.ANNUAL,
        lineage="民政部门区划调整公告和统计用区划代码。 / Civil-affairs division changes and the statistical "
        "division codes.",
        keywords=(
            "行政区划",
            "区划代码",
            "街道",
            "乡镇",
            "居委会",
            "division",
            "district",
            "township",
            "community",
            "GB/T 2260",
        ),
        source_table="divisions",
        fields=(
            F("code", "区划代码", "Division code", PUB),
            F("name", "名称", "Name", PUB),
            F("name_en", "英文名称", "English name", PUB),
            F("level", "层级", "Level", PUB),
            F("kind", "类型", "Kind", PUB),
            F("parent_code", "上级区划代码", "Parent code", PUB),
        ),
    ),
    DatasetSpec(
        code="hub.grid",
        title="单元网格",
        title_en="Unit grids",
        description="按 GB/T 30428 划分、无缝覆盖全市的单元网格，含所属居村、街镇和区以及边界。",
        description_en="Unit grids (GB/T 30428) covering the city without gaps or overlaps, with their community, "
        "township and district and their outlines.",
        owner_agency_code="sh-uomc",
        theme=Theme.REGIONS,
        update_frequency=Frequency.ANNUAL,
        lineage="城市网格化管理普查划定，区划调整时重划。 / Drawn by the grid-management census; redrawn when "
        "divisions change.",
        keywords=("网格", "单元网格", "网格化管理", "grid", "unit grid", "grid management"),
        source_table="grids",
        fields=(
            F("code", "网格编码", "Grid code", PUB),
            F("community_code", "居村代码", "Community code", PUB),
            F("township_code", "街镇代码", "Township code", PUB),
            F("district_code", "区代码", "District code", PUB),
            F("area_km2", "面积（平方公里）", "Area (km²)", PUB),
            F("centroid_lon", "中心经度", "Centroid longitude", PUB),
            F("centroid_lat", "中心纬度", "Centroid latitude", PUB),
            F("geometry", "边界", "Outline (GeoJSON)", PUB),
        ),
    ),
)
