"""The content page: every flow as a tree of steps, drawn by the bot's own renderer, and the start-up warnings.

Rendering with the bot's renderer (not a copy of it) is the point: staff see what a runner would get.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.features.dashboard import labels, preview
from bot.features.dashboard.views import page, require_staff
from bot.web.parts import parts_of

router = APIRouter(include_in_schema=False)


@router.get("/admin/content")
async def content(request: Request) -> Response:
    session = require_staff(request)
    parts = parts_of(request)
    def tag_name(tag: str) -> str:
        return labels.tag_label(parts.flows, tag)

    flows = [preview.build(loaded, parts.template_variables(), tag_name) for loaded in parts.flows]
    return page(request, "content.html", session, flows=flows, warnings=parts.flows.warnings,
                section="content")
