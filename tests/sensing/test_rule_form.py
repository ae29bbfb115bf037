"""The rule form: parameters from plain fields, each wrong field named in the reader's language."""

from __future__ import annotations

from onecity.sensing.pages import params_from_form


def test_threshold_rate_silence_from_fields() -> None:
    assert params_from_form("threshold", {"direction": "above", "value": "4.5", "clear": "4.3"}, "zh") == (
        {"above": 4.5, "clear_below": 4.3},
        {},
    )
    assert params_from_form("threshold", {"direction": "below", "value": "1", "clear": ""}, "en") == (
        {"below": 1.0},
        {},
    )
    assert params_from_form("rate", {"direction": "above", "value": "0.3"}, "en") == ({"rise_per_hour": 0.3}, {})
    assert params_from_form("silence", {"minutes": "90"}, "en") == ({"silent_minutes": 90.0}, {})
    got, errors = params_from_form(
        "combination",
        {
            "window": "",
            "conditions": '[{"observed_property": "rainfall", "above": 30}, {"observed_property": "tilt", "above": 5}]',
        },
        "en",
    )
    assert errors == {} and got["window_minutes"] == 60 and len(got["conditions"]) == 2


def test_wrong_fields_are_named() -> None:
    _, errors = params_from_form("threshold", {"direction": "above", "value": "abc", "clear": ""}, "zh")
    assert errors == {"value": "请填写数字，例如 4.5。"}
    _, errors = params_from_form("threshold", {"direction": "above", "value": "1", "clear": "2"}, "en")
    assert set(errors) == {"clear"} and "hysteresis" in errors["clear"]
    _, errors = params_from_form("threshold", {"direction": "above", "value": "nan"}, "en")
    assert set(errors) == {"value"}
    _, errors = params_from_form("silence", {"minutes": "0"}, "en")
    assert errors == {"minutes": "Between 1 and 10080 minutes."}
    _, errors = params_from_form("combination", {"conditions": "[{"}, "zh")
    assert errors == {"conditions": "不是有效的 JSON。"}
    _, errors = params_from_form("nonsense", {}, "en")
    assert set(errors) == {"kind"}


def test_device_names_in_the_readers_language() -> None:
    from onecity.sensing.service import device_name

    assert device_name("水位站 00012", {"kind": "water"}, "en") == "Water gauge 00012"
    assert device_name("水位站 00012", {"kind": "water"}, "zh") == "水位站 00012"
    assert device_name("外滩水位站", {"kind": "water"}, "en") == "外滩水位站"  # a name of its own is kept
    # the traffic part's stations, as onecity.traffic.feed names them
    assert device_name("交通检测器 central v4_6", {"kind": "traffic_loop"}, "en") == "Traffic loop station central v4_6"
    assert device_name("交通视频 central v4_6", {"kind": "traffic_camera"}, "en") == "Traffic camera central v4_6"
    assert device_name("x", None, "en") == "x"
