"""Controlled vocabularies of the catalogue, with labels in Chinese and English.

Themes are the EU Publications Office *data theme* codes and frequencies its *frequency*
codes, because DCAT-AP names those vocabularies: a harvester that knows DCAT-AP then
understands OneCity's catalogue without a mapping table.
"""

from __future__ import annotations

from enum import StrEnum

from onecity.hub.catalogue.models import Frequency, Sensitivity

EU_THEME_SCHEME = "http://publications.europa.eu/resource/authority/data-theme"
EU_FREQUENCY_SCHEME = "http://publications.europa.eu/resource/authority/frequency"


class Theme(StrEnum):
    SOCIETY = "SOCI"
    ECONOMY = "ECON"
    REGIONS = "REGI"
    GOVERNMENT = "GOVE"
    ENVIRONMENT = "ENVI"
    TRANSPORT = "TRAN"
    HEALTH = "HEAL"
    EDUCATION = "EDUC"
    JUSTICE = "JUST"
    ENERGY = "ENER"
    AGRICULTURE = "AGRI"
    TECHNOLOGY = "TECH"

    @property
    def iri(self) -> str:
        return f"{EU_THEME_SCHEME}/{self.value}"


THEME_LABELS: dict[Theme, tuple[str, str]] = {
    Theme.SOCIETY: ("人口与社会", "Population and society"),
    Theme.ECONOMY: ("经济与金融", "Economy and finance"),
    Theme.REGIONS: ("区域与城市", "Regions and cities"),
    Theme.GOVERNMENT: ("政府与公共部门", "Government and public sector"),
    Theme.ENVIRONMENT: ("环境", "Environment"),
    Theme.TRANSPORT: ("交通", "Transport"),
    Theme.HEALTH: ("卫生健康", "Health"),
    Theme.EDUCATION: ("教育文化体育", "Education, culture and sport"),
    Theme.JUSTICE: ("司法与公共安全", "Justice, legal system and public safety"),
    Theme.ENERGY: ("能源", "Energy"),
    Theme.AGRICULTURE: ("农业与食品", "Agriculture, fisheries, forestry and food"),
    Theme.TECHNOLOGY: ("科学技术", "Science and technology"),
}

FREQUENCY_LABELS: dict[Frequency, tuple[str, str]] = {
    Frequency.CONTINUOUS: ("实时", "Continuous"),
    Frequency.DAILY: ("每日", "Daily"),
    Frequency.WEEKLY: ("每周", "Weekly"),
    Frequency.MONTHLY: ("每月", "Monthly"),
    Frequency.QUARTERLY: ("每季度", "Quarterly"),
    Frequency.ANNUAL: ("每年", "Annual"),
    Frequency.IRREGULAR: ("不定期", "Irregular"),
}

SENSITIVITY_LABELS: dict[Sensitivity, tuple[str, str]] = {
    Sensitivity.PUBLIC: ("公开", "Public"),
    Sensitivity.INTERNAL: ("内部", "Internal"),
    Sensitivity.PERSONAL: ("个人信息", "Personal"),
    Sensitivity.SENSITIVE: ("敏感个人信息", "Sensitive personal"),
}

#: Lowest to highest: a dataset is as sensitive as its most sensitive field.
SENSITIVITY_ORDER: tuple[Sensitivity, ...] = (
    Sensitivity.PUBLIC,
    Sensitivity.INTERNAL,
    Sensitivity.PERSONAL,
    Sensitivity.SENSITIVE,
)
#: Classes whose values are personal information under PIPL: shared masked unless granted in clear.
PERSONAL_CLASSES = frozenset({Sensitivity.PERSONAL, Sensitivity.SENSITIVE})


def frequency_iri(freq: Frequency | str) -> str:
    return f"{EU_FREQUENCY_SCHEME}/{Frequency(freq).value}"


def highest(classes: list[Sensitivity] | list[str]) -> Sensitivity:
    found = {Sensitivity(c) for c in classes}
    for level in reversed(SENSITIVITY_ORDER):
        if level in found:
            return level
    return Sensitivity.PUBLIC
