"""The DCAT-AP 3 export: public, JSON-LD, and conformant to the official SHACL shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from onecity.core.db import Database
from onecity.hub.catalogue.service import install_catalogue

SHAPES = Path(__file__).resolve().parents[2] / "data" / "dcat-ap-3.0.0-SHACL.ttl"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
# pyshacl still builds rdflib's ConjunctiveGraph, which rdflib 7 deprecates: not our code's warning
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


@pytest.fixture
def installed(db: Database) -> None:
    with db.transaction() as session:
        install_catalogue(session)


def test_dcat_export_conforms_to_the_dcat_ap_3_shapes(client: TestClient, installed: None) -> None:
    import pyshacl
    from rdflib import Graph, Literal, Namespace, URIRef

    r = client.get("/api/v1/catalog/dcat")  # no credentials: catalogue metadata is public
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/ld+json")
    data = Graph().parse(data=r.text, format="json-ld")
    shapes = Graph().parse(SHAPES, format="turtle")
    conforms, _graph, report = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=True)
    assert conforms, report

    dcat, dct = Namespace(DCAT), Namespace(DCT)
    rdf_type = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    datasets = set(data.subjects(rdf_type, dcat.Dataset))
    assert len(datasets) == 7
    person = next(d for d in datasets if str(d).endswith("/catalog/datasets/hub.person"))
    titles: set[tuple[str, str | None]] = set()
    for t in data.objects(person, dct.title):
        assert isinstance(t, Literal), t
        titles.add((str(t), t.language))
    assert ("人口基础信息库", "zh") in titles and ("Population base registry", "en") in titles
    assert (
        person,
        dct.accrualPeriodicity,
        URIRef("http://publications.europa.eu/resource/authority/frequency/DAILY"),
    ) in data
    issued = next(data.objects(person, dct.issued))
    assert isinstance(issued, Literal) and issued.datatype == URIRef("http://www.w3.org/2001/XMLSchema#date")
    publisher = next(data.objects(person, dct.publisher))
    names = {str(n) for n in data.objects(publisher, URIRef("http://xmlns.com/foaf/0.1/name"))}
    assert "上海市公安局" in names
    assert next(data.objects(person, dcat.distribution), None) is not None
    assert next(data.objects(person, dct.spatial), None) is not None


def test_an_empty_catalogue_still_conforms(client: TestClient) -> None:
    import pyshacl
    from rdflib import Graph

    r = client.get("/api/v1/catalog/dcat")
    assert r.status_code == 200
    conforms, _g, report = pyshacl.validate(
        Graph().parse(data=r.text, format="json-ld"), shacl_graph=Graph().parse(SHAPES, format="turtle")
    )
    assert conforms, report
