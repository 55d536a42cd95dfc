"""Rich menus as LINE keeps them: created, given one image, made everyone's default or linked to one user
(alone or in bulk), deleted (which unlinks its users).

A mixin of :class:`~bot.local.line_standin.state.StandinState` rather than a store of its own: the rules
share the state's lock and its event feed (the simulator redraws the menu when the default changes).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from bot.local.line_standin.records import LineApiError


@dataclass
class RichMenu:
    """A created rich menu and its uploaded image (LINE accepts one image, once)."""

    rich_menu_id: str
    body: dict[str, Any]
    image: bytes | None = None
    content_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The RichMenuResponse shape."""
        return {"richMenuId": self.rich_menu_id, **self.body}


class RichMenus:
    """The rich-menu rules; the class mixing it in provides the lock and the event feed."""

    _lock: threading.RLock
    _rich_menus: dict[str, RichMenu]
    _default_rich_menu: str | None
    _user_menus: dict[str, str]

    def add_event(self, kind: Literal["loading", "richmenu"], user_id: str | None,
                  data: dict[str, Any]) -> None:
        """Publish an event to pollers (provided by the state this is mixed into)."""
        raise NotImplementedError

    def _reset_rich_menus(self) -> None:
        """No menus and no default (called by the state's reset, under its lock)."""
        self._rich_menus = {}
        self._default_rich_menu = None
        self._user_menus = {}

    def create_rich_menu(self, body: dict[str, Any]) -> str:
        """Store a rich menu; ids look like LINE's ``richmenu-<32 hex>``."""
        menu = RichMenu(f"richmenu-{uuid.uuid4().hex}", body)
        with self._lock:
            self._rich_menus[menu.rich_menu_id] = menu
        return menu.rich_menu_id

    def rich_menu(self, rich_menu_id: str) -> RichMenu:
        """A rich menu, or 404 like LINE."""
        with self._lock:
            menu = self._rich_menus.get(rich_menu_id)
        if menu is None:
            raise LineApiError(404, "Not found")
        return menu

    @property
    def rich_menus(self) -> list[RichMenu]:
        """All rich menus, in creation order."""
        with self._lock:
            return list(self._rich_menus.values())

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        """Delete (404 if unknown); deleting the default menu unsets the default."""
        with self._lock:
            self.rich_menu(rich_menu_id)
            del self._rich_menus[rich_menu_id]
            if self._default_rich_menu == rich_menu_id:
                self._set_default(None)
            for user_id in [u for u, m in self._user_menus.items() if m == rich_menu_id]:
                self.unlink_rich_menu(user_id)

    def set_rich_menu_image(self, rich_menu_id: str, content_type: str, image: bytes) -> None:
        """Attach the image; LINE refuses a second upload for the same menu."""
        with self._lock:
            menu = self.rich_menu(rich_menu_id)
            if menu.image is not None:
                raise LineApiError(400, "An image has already been uploaded to the richmenu")
            menu.image, menu.content_type = image, content_type

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        """Make a menu everyone's default; it must exist and have its image (as on LINE)."""
        with self._lock:
            if self.rich_menu(rich_menu_id).image is None:
                raise LineApiError(400, "must upload richmenu image before applying it to user")
            self._set_default(rich_menu_id)

    def clear_default_rich_menu(self) -> None:
        """Unset the default rich menu (no error when none is set)."""
        with self._lock:
            self._set_default(None)

    @property
    def default_rich_menu_id(self) -> str | None:
        """The rich menu shown to every user, if any."""
        with self._lock:
            return self._default_rich_menu

    def _set_default(self, rich_menu_id: str | None) -> None:
        """Change the default and tell pollers (the simulator redraws the menu)."""
        if self._default_rich_menu != rich_menu_id:
            self._default_rich_menu = rich_menu_id
            self.add_event("richmenu", None, {"richMenuId": rich_menu_id})

    # --- per-user menus (LINE's "link rich menu to user") -----------------------------------------------

    def link_rich_menu(self, user_id: str, rich_menu_id: str) -> None:
        """This user sees this menu instead of the default; it must exist and have its image."""
        with self._lock:
            if self.rich_menu(rich_menu_id).image is None:
                raise LineApiError(400, "must upload richmenu image before applying it to user")
            if self._user_menus.get(user_id) != rich_menu_id:
                self._user_menus[user_id] = rich_menu_id
                self.add_event("richmenu", user_id, {"richMenuId": rich_menu_id})

    def unlink_rich_menu(self, user_id: str) -> None:
        """Back to the default menu (no error when nothing was linked)."""
        with self._lock:
            if self._user_menus.pop(user_id, None) is not None:
                self.add_event("richmenu", user_id, {"richMenuId": self._default_rich_menu})

    def linked_rich_menu_id(self, user_id: str) -> str | None:
        """The menu linked to this user, or None (LINE answers 404 then)."""
        with self._lock:
            return self._user_menus.get(user_id)

    def rich_menu_shown_to(self, user_id: str) -> str | None:
        """What this user's chat shows: their own menu, else the default."""
        with self._lock:
            return self._user_menus.get(user_id, self._default_rich_menu)
