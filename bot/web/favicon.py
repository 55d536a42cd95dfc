"""The app's icon (``/favicon.svg``, and ``/favicon.ico`` for browsers that ask for it by that name).

Served by the app itself, so the simulator and the staff pages load nothing from anywhere else — and the
browser's own request for ``/favicon.ico`` is not a 404 in the logs. A small SVG: the clinic's 整 on green.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import Response

ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<rect width="64" height="64" rx="14" fill="#047a34"/>'
    '<text x="32" y="45" font-size="38" font-weight="700" text-anchor="middle" fill="#fff" '
    'font-family="Hiragino Sans, Noto Sans CJK JP, Noto Sans JP, sans-serif">整</text></svg>'
)
_HEADERS = {"Cache-Control": "public, max-age=86400"}


def mount_favicon(app: FastAPI) -> None:
    async def favicon() -> Response:
        return Response(ICON, media_type="image/svg+xml", headers=_HEADERS)

    for path in ("/favicon.svg", "/favicon.ico"):
        app.add_api_route(path, favicon, methods=["GET"], include_in_schema=False)
