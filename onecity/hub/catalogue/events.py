"""What the catalogue tells other parts: a dataset was registered or changed."""

from __future__ import annotations

from pydantic import BaseModel

from onecity.core import events


class DatasetChanged(BaseModel):
    code: str
    change: str  # created | updated
    owner_agency_id: str
    division_code: str


DATASET_CHANGED = events.event_type("hub.dataset.changed", DatasetChanged)
