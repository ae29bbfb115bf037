"""Folding what the recogniser returns into the forms mainland documents print."""

from onecity.documents.extract import norm


def test_traditional_forms_the_recogniser_returns_are_read_as_printed() -> None:
    # misses of the 500-document benchmark: names read with a traditional character
    assert norm("徐瑤倩") == "徐瑶倩" and norm("曹美悅") == "曹美悦" and norm("黃豪一") == "黄豪一"
    assert norm("公民身份號碼：") == "公民身份号码:"


def test_characters_mainland_documents_print_are_never_changed() -> None:
    # 乾 and 於 are traditional forms of 干 and 于 but also characters of their own (乾隆, a surname 於)
    assert norm("乾隆 於明") == "乾隆於明"
    assert norm("上海市徐汇区天平路街道") == "上海市徐汇区天平路街道"
