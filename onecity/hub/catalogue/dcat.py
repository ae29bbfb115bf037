"""The catalogue as DCAT-AP 3 JSON-LD, for harvesting by other data portals.

Every node a DCAT-AP shape constrains by class carries its ``@type`` (publisher
``foaf:Agent``, contact ``vcard:Kind``, theme ``skos:Concept``, frequency ``dct:Frequency``,
coverage ``dct:Location``…), so the document validates against the SHACL shapes on its
own, without the vocabularies loaded beside it. Titles and descriptions are given in
Chinese and English with ``@language``; dates are typed literals. Identifiers are IRIs
under the server's own address: datasets dereference to their catalogue entry.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onecity.core import clock
from onecity.core.divisions import Division
from onecity.core.identity.models import Agency
from onecity.hub.catalogue import builtin
from onecity.hub.catalogue.models import Dataset, Sensitivity
from onecity.hub.catalogue.service import fields_of, sensitivity_of
from onecity.hub.catalogue.vocab import EU_THEME_SCHEME, THEME_LABELS, Theme, frequency_iri

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "locn": "http://www.w3.org/ns/locn#",
    "adms": "http://www.w3.org/ns/adms#",
}
AUTHORITY = "http://publications.europa.eu/resource/authority"
LANGUAGES = {"zh": f"{AUTHORITY}/language/ZHO", "en": f"{AUTHORITY}/language/ENG"}
ACCESS_RIGHTS = {"public": f"{AUTHORITY}/access-right/PUBLIC", "restricted": f"{AUTHORITY}/access-right/RESTRICTED"}
JSON_MEDIA_TYPE = "https://www.iana.org/assignments/media-types/application/json"
JSON_FILE_TYPE = f"{AUTHORITY}/file-type/JSON"
DCAT_AP = "http://data.europa.eu/r5r/"


def _text(zh: str, en: str) -> list[dict[str, str]]:
    return [{"@value": zh, "@language": "zh"}, {"@value": en, "@language": "en"}]


def _date(value: date) -> dict[str, str]:
    return {"@value": value.isoformat(), "@type": "xsd:date"}


def _datetime(value: datetime) -> dict[str, str]:
    return {"@value": value.isoformat(timespec="seconds"), "@type": "xsd:dateTime"}


def _agent(base: str, agency: Agency) -> dict[str, Any]:
    return {
        "@id": f"{base}id/agency/{agency.code}",
        "@type": "foaf:Agent",
        "foaf:name": _text(agency.name, agency.name_en),
    }


def _contact(base: str, agency: Agency) -> dict[str, Any]:
    return {
        "@id": f"{base}id/agency/{agency.code}#contact",
        "@type": ["vcard:Organization", "vcard:Kind"],
        "vcard:fn": _text(agency.name, agency.name_en),
        "vcard:hasURL": {"@id": f"{base}catalogue?owner={agency.code}"},
    }


def _location(base: str, division: Division | None, code: str) -> dict[str, Any]:
    node: dict[str, Any] = {"@id": f"{base}id/division/{code}", "@type": "dct:Location", "dct:identifier": code}
    if division is not None:
        node["locn:geographicName"] = _text(division.name, division.name_en)
    return node


def _theme(theme: Theme) -> dict[str, Any]:
    zh, en = THEME_LABELS[theme]
    return {
        "@id": theme.iri,
        "@type": "skos:Concept",
        "skos:prefLabel": _text(zh, en),
        "skos:inScheme": {"@id": EU_THEME_SCHEME},
    }


def _language(code: str) -> dict[str, Any]:
    return {"@id": LANGUAGES[code], "@type": "dct:LinguisticSystem"}


def catalogue_jsonld(session: Session, base_url: str) -> dict[str, Any]:
    """The whole catalogue as one JSON-LD document (``base_url`` ends with '/')."""
    datasets = list(session.scalars(select(Dataset).order_by(Dataset.code)))
    agencies = {a.id: a for a in session.scalars(select(Agency))}
    divisions = {
        d.code: d
        for d in session.scalars(select(Division).where(Division.code.in_({d.division_code for d in datasets})))
    }
    fields = fields_of(session, [d.id for d in datasets])
    entries = []
    for ds in datasets:
        owner = agencies[ds.owner_agency_id]
        level = sensitivity_of(fields[ds.id])
        landing = f"{base_url}api/v1/catalog/datasets/{ds.code}"
        entry: dict[str, Any] = {
            "@id": landing,
            "@type": "dcat:Dataset",
            "dct:identifier": ds.code,
            "dct:title": _text(ds.title, ds.title_en),
            "dct:description": _text(ds.description, ds.description_en),
            "dct:publisher": _agent(base_url, owner),
            "dcat:contactPoint": _contact(base_url, owner),
            "dct:accrualPeriodicity": {"@id": frequency_iri(ds.update_frequency), "@type": "dct:Frequency"},
            "dct:spatial": _location(base_url, divisions.get(ds.division_code), ds.division_code),
            "dcat:theme": _theme(Theme(ds.theme)),
            "dcat:keyword": [{"@value": k, "@language": "zh" if _is_chinese(k) else "en"} for k in ds.keywords],
            "dct:issued": _date(ds.issued_on),
            "dct:modified": _datetime(ds.updated_at),
            "dct:language": [_language("zh"), _language("en")],
            "dct:provenance": {"@type": "dct:ProvenanceStatement", "rdfs:label": ds.lineage},
            "dct:accessRights": {
                "@id": ACCESS_RIGHTS["public" if level is Sensitivity.PUBLIC else "restricted"],
                "@type": "dct:RightsStatement",
            },
        }
        if ds.source_table:
            # held by the hub: served field by field under a grant through the sharing API
            entry["dcat:distribution"] = {
                "@id": f"{landing}#records",
                "@type": "dcat:Distribution",
                "dct:title": _text(f"{ds.title}（按授权共享接口）", f"{ds.title_en} (governed sharing API)"),
                "dcat:accessURL": {
                    "@id": f"{base_url}api/v1/sharing/datasets/{ds.code}/records",
                    "@type": "rdfs:Resource",
                },
                "dcat:mediaType": {"@id": JSON_MEDIA_TYPE, "@type": "dct:MediaType"},
                "dct:format": {"@id": JSON_FILE_TYPE, "@type": "dct:MediaTypeOrExtent"},
            }
        entries.append(entry)
    # the catalogue's publisher is the big data center, whether or not its agency row exists yet
    publisher = next(a for a in builtin.AGENCIES if a.code == builtin.CATALOGUE_PUBLISHER)
    modified = max((d.updated_at for d in datasets), default=clock.now())
    issued = min((d.issued_on for d in datasets), default=clock.today())
    catalog: dict[str, Any] = {
        "@id": f"{base_url}api/v1/catalog/dcat",
        "@type": "dcat:Catalog",
        "dct:title": _text("上海市公共数据资源目录", "Shanghai public data resource catalogue"),
        "dct:description": _text(
            "城市数据枢纽的数据目录：各基础库和各部门数据集的说明、权属、字段敏感级别和更新频率。",
            "The city data hub's catalogue: every base registry and agency dataset, with its owner, the "
            "sensitivity of its fields and how often it changes.",
        ),
        "dct:issued": _date(issued),
        "dct:modified": _datetime(modified),
        "dct:language": [_language("zh"), _language("en")],
        "dct:spatial": _location(base_url, session.get(Division, "310000000000"), "310000000000"),
        "dct:conformsTo": {"@id": DCAT_AP, "@type": "dct:Standard"},
        "foaf:homepage": {"@id": f"{base_url}catalogue", "@type": "foaf:Document"},
        "dcat:themeTaxonomy": {
            "@id": EU_THEME_SCHEME,
            "@type": "skos:ConceptScheme",
            "dct:title": {"@value": "Data theme", "@language": "en"},
        },
        "dct:publisher": {
            "@id": f"{base_url}id/agency/{publisher.code}",
            "@type": "foaf:Agent",
            "foaf:name": _text(publisher.name, publisher.name_en),
        },
        "dcat:dataset": entries,
    }
    return {"@context": CONTEXT, **catalog}


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
