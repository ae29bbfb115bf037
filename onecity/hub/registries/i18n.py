"""Words of the registries, in Chinese and English (keys ``registries.…``): a certificate's states,
as a refused step names them."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "zh": {
        "registries.certificate.noun": "证照",
        "registries.certificate.status.valid": "有效",
        "registries.certificate.status.expired": "已过期",
        "registries.certificate.status.revoked": "已注销",
    },
    "en": {
        "registries.certificate.noun": "certificate",
        "registries.certificate.status.valid": "valid",
        "registries.certificate.status.expired": "expired",
        "registries.certificate.status.revoked": "revoked",
    },
}
