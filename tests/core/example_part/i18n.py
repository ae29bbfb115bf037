"""The example part's words, in Chinese and English."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {"example.nav": "示例", "example.title": "示例便笺", "example.count": "共 {count} 条便笺"},
    "en": {"example.nav": "Example", "example.title": "Example notes", "example.count": "{count} notes"},
}
