"""Opening hours of one day, shared by the clinic's week and each practitioner's shifts."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, model_validator


class OpeningHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    open: dt.time
    close: dt.time

    @model_validator(mode="after")
    def _opens_before_closing(self) -> OpeningHours:
        if self.open >= self.close:
            raise ValueError(f"opens at {self.open} but closes at {self.close}")
        return self
