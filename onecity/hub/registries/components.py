"""The classes of city components (城市部件), GB/T 30428.2 style: what a component's class code means.

A component's ``class_code`` is the major class (2 digits: 01 public utilities, 02 roads and
traffic, 03 city appearance and environment, 04 landscaping, 05 housing and land, 06 other)
and the minor class (2 digits). The registry holds the code and the owner department;
urban operations files a damaged component under ``C`` + its class code and sends it to the
owner. This is the platform's vocabulary, the same in every city; how many of each a city
has is its own (the synthetic city's shares are in :mod:`onecity.synth.registries.generate`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ComponentClass:
    """One minor class: its code, its names and the department (suffix) that owns such components."""

    code: str
    name: str
    name_en: str
    #: The owner department's name without its district (水务局: the district's water authority).
    owner: str


CLASSES: tuple[ComponentClass, ...] = (
    ComponentClass("0101", "上水井盖", "water-supply manhole cover", "水务局"),
    ComponentClass("0102", "污水井盖", "sewer manhole cover", "水务局"),
    ComponentClass("0103", "雨水井盖", "rain-water manhole cover", "水务局"),
    ComponentClass("0104", "雨水箅子", "storm drain grate", "水务局"),
    ComponentClass("0105", "电力井盖", "power manhole cover", "电力公司"),
    ComponentClass("0106", "路灯井盖", "street-light manhole cover", "建设和管理委员会"),
    ComponentClass("0107", "通信井盖", "telecom manhole cover", "通信管理局"),
    ComponentClass("0110", "燃气井盖", "gas manhole cover", "燃气公司"),
    ComponentClass("0111", "热力井盖", "heating manhole cover", "建设和管理委员会"),
    ComponentClass("0115", "消防栓", "fire hydrant", "消防救援支队"),
    ComponentClass("0120", "路灯", "street light", "建设和管理委员会"),
    ComponentClass("0125", "报刊亭", "news kiosk", "绿化和市容管理局"),
    ComponentClass("0126", "电话亭", "phone booth", "通信管理局"),
    ComponentClass("0130", "邮筒", "post box", "邮政管理局"),
    ComponentClass("0201", "公交站亭", "bus shelter", "交通委员会"),
    ComponentClass("0203", "交通信号灯", "traffic light", "公安分局交警支队"),
    ComponentClass("0204", "交通标志牌", "traffic sign", "公安分局交警支队"),
    ComponentClass("0207", "隔离护栏", "guard rail", "建设和管理委员会"),
    ComponentClass("0210", "停车泊位", "parking bay", "交通委员会"),
    ComponentClass("0213", "道路名牌", "street name sign", "民政局"),
    ComponentClass("0301", "公共厕所", "public toilet", "绿化和市容管理局"),
    ComponentClass("0303", "垃圾箱", "litter bin", "绿化和市容管理局"),
    ComponentClass("0305", "广告牌匾", "shop sign", "绿化和市容管理局"),
    ComponentClass("0308", "座椅", "bench", "绿化和市容管理局"),
    ComponentClass("0401", "古树名木", "heritage tree", "绿化和市容管理局"),
    ComponentClass("0402", "行道树", "street tree", "绿化和市容管理局"),
    ComponentClass("0404", "绿地", "green space", "绿化和市容管理局"),
    ComponentClass("0405", "护树设施", "tree guard", "绿化和市容管理局"),
    ComponentClass("0601", "监控电子眼", "CCTV camera", "公安分局"),
    ComponentClass("0606", "健身设施", "fitness equipment", "体育局"),
)

#: The classes by code.
BY_CODE: dict[str, ComponentClass] = {c.code: c for c in CLASSES}
