"""The e-certificate types (电子证照目录) the registry holds, described in the GB/T 36903 metadata model.

GB/T 36903-2018 (电子证照 元数据规范) names the metadata every e-certificate carries whatever
its kind (identifier, type, number, holder and holder code, issuer, dates, status); each type
then adds the fields printed on its own surface (照面信息). GB/T 36905-2018 defines the
e-certificate identifier built from the type code and issuer code. ``metadata_fields`` keeps
both lists so that a consumer (the services part issuing W3C credentials, a data-sharing
grant listing fields) can read what a certificate of this type holds without a code change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from onecity.hub.registries.models import HolderKind


class CertType(StrEnum):
    ID_CARD = "id_card"
    HOUSEHOLD_REGISTER = "household_register"
    RESIDENCE_PERMIT = "residence_permit"
    BIRTH_MEDICAL = "birth_medical_certificate"
    MARRIAGE = "marriage_certificate"
    REAL_ESTATE = "real_estate_certificate"
    DRIVING_LICENCE = "driving_licence"
    SOCIAL_SECURITY_CARD = "social_security_card"
    SENIOR_CITIZEN_CARD = "senior_citizen_card"
    BUSINESS_LICENCE = "business_licence"
    FOOD_BUSINESS_LICENCE = "food_business_licence"
    INSTITUTION_CERTIFICATE = "public_institution_certificate"
    SOCIAL_ORG_CERTIFICATE = "social_organisation_certificate"


#: Metadata every certificate has (GB/T 36903-2018, 5.2), as field name → (Chinese name, type).
COMMON_METADATA: tuple[tuple[str, str, str], ...] = (
    ("identifier", "证照标识", "string"),
    ("type_code", "证照类型代码", "string"),
    ("type_name", "证照类型名称", "string"),
    ("number", "证照编号", "string"),
    ("holder_name", "持证主体", "string"),
    ("holder_identifier", "持证主体代码", "string"),
    ("holder_identifier_type", "持证主体代码类型", "string"),
    ("issuer", "证照颁发机构", "string"),
    ("issuer_code", "证照颁发机构代码", "string"),
    ("issued_on", "证照颁发日期", "date"),
    ("valid_from", "有效期起始日期", "date"),
    ("valid_until", "有效期截止日期", "date"),
    ("status", "证照状态", "string"),
)


@dataclass(frozen=True)
class CertTypeSpec:
    code: CertType
    name: str
    name_en: str
    holder_kind: HolderKind
    issuer_department: str
    validity_years: int | None
    #: Fields on the certificate's surface: name → (Chinese name, type).
    surface: tuple[tuple[str, str, str], ...]
    #: GB/T 36905 type code (证照类型代码) used in identifiers.
    type_code_36905: str

    def metadata_fields(self) -> dict[str, Any]:
        return {
            "standard": "GB/T 36903-2018",
            "identifier_standard": "GB/T 36905-2018",
            "type_code": self.type_code_36905,
            "holder_identifier_type": "GB 11643" if self.holder_kind is HolderKind.PERSON else "GB 32100",
            "common": [{"name": n, "name_zh": z, "type": t} for n, z, t in COMMON_METADATA],
            "surface": [{"name": n, "name_zh": z, "type": t} for n, z, t in self.surface],
        }


P, L = HolderKind.PERSON, HolderKind.LEGAL_PERSON

CERT_TYPES: tuple[CertTypeSpec, ...] = (
    CertTypeSpec(
        CertType.ID_CARD,
        "居民身份证",
        "Resident identity card",
        P,
        "公安局",
        20,
        (
            ("name", "姓名", "string"),
            ("sex", "性别", "string"),
            ("birth_date", "出生", "date"),
            ("address", "住址", "string"),
            ("id_number", "公民身份号码", "string"),
        ),
        "111",
    ),
    CertTypeSpec(
        CertType.HOUSEHOLD_REGISTER,
        "居民户口簿",
        "Household register",
        P,
        "公安局",
        None,
        (("hukou_region", "户籍地", "string"), ("relation", "与户主关系", "string"), ("address", "住址", "string")),
        "112",
    ),
    CertTypeSpec(
        CertType.RESIDENCE_PERMIT,
        "上海市居住证",
        "Shanghai residence permit",
        P,
        "公安局",
        3,
        (("hukou_region", "户籍地", "string"), ("address", "居住地址", "string")),
        "113",
    ),
    CertTypeSpec(
        CertType.BIRTH_MEDICAL,
        "出生医学证明",
        "Birth medical certificate",
        P,
        "卫生健康委员会",
        None,
        (("birth_date", "出生日期", "date"), ("sex", "性别", "string"), ("place_of_birth", "出生地点", "string")),
        "211",
    ),
    CertTypeSpec(
        CertType.MARRIAGE,
        "结婚证",
        "Marriage certificate",
        P,
        "民政局婚姻登记处",
        None,
        (
            ("spouse_name", "配偶姓名", "string"),
            ("spouse_id_number", "配偶身份证件号", "string"),
            ("registered_on", "登记日期", "date"),
        ),
        "311",
    ),
    CertTypeSpec(
        CertType.REAL_ESTATE,
        "不动产权证书",
        "Real-estate title certificate",
        P,
        "规划和自然资源局",
        None,
        (("address", "坐落", "string"), ("area_m2", "面积", "number"), ("use", "用途", "string")),
        "411",
    ),
    CertTypeSpec(
        CertType.DRIVING_LICENCE,
        "机动车驾驶证",
        "Driving licence",
        P,
        "公安局交通警察支队",
        6,
        (("vehicle_class", "准驾车型", "string"), ("first_issued_on", "初次领证日期", "date")),
        "511",
    ),
    CertTypeSpec(
        CertType.SOCIAL_SECURITY_CARD,
        "社会保障卡",
        "Social security card",
        P,
        "人力资源和社会保障局",
        10,
        (("card_number", "卡号", "string"),),
        "611",
    ),
    CertTypeSpec(
        CertType.SENIOR_CITIZEN_CARD,
        "上海市敬老卡",
        "Senior citizen card",
        P,
        "民政局",
        None,
        (("birth_date", "出生日期", "date"),),
        "612",
    ),
    CertTypeSpec(
        CertType.BUSINESS_LICENCE,
        "营业执照",
        "Business licence",
        L,
        "市场监督管理局",
        None,
        (
            ("name", "名称", "string"),
            ("kind", "类型", "string"),
            ("legal_rep", "法定代表人", "string"),
            ("registered_capital", "注册资本", "number"),
            ("established_on", "成立日期", "date"),
            ("address", "住所", "string"),
        ),
        "711",
    ),
    CertTypeSpec(
        CertType.FOOD_BUSINESS_LICENCE,
        "食品经营许可证",
        "Food business licence",
        L,
        "市场监督管理局",
        5,
        (("business_items", "经营项目", "string"), ("premises", "经营场所", "string")),
        "712",
    ),
    CertTypeSpec(
        CertType.INSTITUTION_CERTIFICATE,
        "事业单位法人证书",
        "Public institution certificate",
        L,
        "机构编制委员会办公室",
        5,
        (("name", "名称", "string"), ("legal_rep", "法定代表人", "string")),
        "713",
    ),
    CertTypeSpec(
        CertType.SOCIAL_ORG_CERTIFICATE,
        "社会组织登记证书",
        "Social organisation registration certificate",
        L,
        "民政局",
        5,
        (("name", "名称", "string"), ("legal_rep", "法定代表人", "string")),
        "714",
    ),
)

SPECS: dict[str, CertTypeSpec] = {s.code.value: s for s in CERT_TYPES}
