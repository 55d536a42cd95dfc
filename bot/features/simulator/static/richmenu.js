// The rich menu under the chat, as the runner's LINE shows it: the menu linked to this runner, else the
// account's default, else (nothing published yet) the definition `python -m bot richmenu` uploads.
// A published menu is its uploaded picture with a button over each area; the definition is drawn as tiles
// with the same labels. Either way a tap does what LINE does: a message action sends its text as the
// runner's message, a postback sends its data (see act() in simulator.js).
"use strict";

const MENU = {byUser: {}, open: true, openedFor: null};
const MENU_SOURCES = {
  linked: "このランナーに紐づいたメニュー(公開済み)",
  default: "デフォルトのメニュー(公開済み)",
  definition: "python -m bot richmenu の定義(まだ公開されていません)",
};

function areaLabel(action) {
  return action.label || action.text || action.displayText || action.data || action.uri || action.type;
}

function menuArea(area, size, drawn) {
  const b = area.bounds;
  const style = {left: `${(100 * b.x) / size.width}%`, top: `${(100 * b.y) / size.height}%`,
    width: `${(100 * b.width) / size.width}%`, height: `${(100 * b.height) / size.height}%`};
  const label = area.label || areaLabel(area.action);
  const inner = drawn ? [h("strong", {}, label), area.hint ? h("small", {}, area.hint) : null]
    : [h("span", {class: "sr-only"}, label)];
  return h("button", {type: "button", class: "area", style, onclick: () => act(area.action)}, inner);
}

function drawMenu() {
  const box = $("richmenu");
  const toggle = $("menu-bar");
  const menu = MENU.byUser[S.current];
  const friend = (S.status[S.current] || "new") === "friend";
  if (!menu || !friend) {
    box.hidden = true; toggle.hidden = true; box.replaceChildren();
    return;
  }
  if (MENU.openedFor !== S.current) { MENU.open = menu.selected !== false; MENU.openedFor = S.current; }
  toggle.hidden = false;
  toggle.replaceChildren(menu.chatBarText || "メニュー",
    h("span", {"aria-hidden": "true"}, MENU.open ? " ▾" : " ▴"));
  toggle.setAttribute("aria-expanded", String(MENU.open));
  box.hidden = !MENU.open;
  const drawn = !menu.image;
  box.className = drawn ? "richmenu drawn" : "richmenu";
  box.style.aspectRatio = `${menu.size.width} / ${menu.size.height}`;
  box.replaceChildren(...(drawn ? [] : [h("img", {src: menu.image, alt: ""})]),
    ...menu.areas.map((area) => menuArea(area, menu.size, drawn)));
  $("menu-source").textContent = MENU_SOURCES[menu.source] || menu.source;
}

async function refreshMenu() {
  const uid = S.current;
  if (!uid) return;
  const {menu} = await api(`/simulator/api/richmenu?userId=${uid}`);
  MENU.byUser[uid] = menu;
  if (uid === S.current) drawMenu();
}

function toggleMenu() {
  MENU.open = !MENU.open;
  drawMenu();
}

// Quick replies need the room: the menu folds away when they arrive (the chat bar brings it back).
function foldMenuForQuickReplies() {
  if (MENU.open && MENU.byUser[S.current]) { MENU.open = false; drawMenu(); }
}
