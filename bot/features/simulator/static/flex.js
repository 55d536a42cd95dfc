// Drawing LINE message objects (text, flex, template, video, image, sticker) from the JSON the bot sent.
// Images from other origins are never fetched (the page's CSP forbids it and nothing may leave the
// machine): they become a labelled placeholder of the same shape, so the layout still reads right.
"use strict";

const SIZES = ["xxs", "xs", "sm", "md", "lg", "xl", "xxl", "3xl", "4xl", "5xl"];
const SPACING = {none: "0", xs: "2px", sm: "4px", md: "8px", lg: "12px", xl: "16px", xxl: "20px"};

function localUrl(url) {
  try { return new URL(url, location.href).origin === location.origin; } catch (e) { return false; }
}

function picture(url, ratio, label, extraClass = "") {
  const style = ratio ? {aspectRatio: ratio.replace(":", " / ")} : {};
  if (url && localUrl(url)) return h("img", {class: `pic ${extraClass}`, src: url, alt: label, style});
  let host = "";
  try { host = new URL(url).host; } catch (e) { host = ""; }
  return h("div", {class: `pic placeholder ${extraClass}`, style, title: url || "", role: "img",
    "aria-label": label}, h("span", {}, label), h("small", {}, host));
}

function space(v) { return SPACING[v] || v || null; }

function clickable(el, action) {
  if (!action) return el;
  el.classList.add("tappable");
  el.setAttribute("role", "button");
  el.setAttribute("tabindex", "0");
  // Named by what it shows (a placeholder says 画像 and its host), the action's label as a tooltip.
  if (el.textContent.trim()) el.removeAttribute("aria-label");
  else if (action.label) el.setAttribute("aria-label", action.label);
  if (action.label) el.title = action.label;
  el.addEventListener("click", (ev) => { ev.stopPropagation(); act(action); });
  el.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); ev.stopPropagation(); act(action); }
  });
  return el;
}

function flex(node) {
  if (!node) return null;
  switch (node.type) {
    case "carousel": return carousel(node.contents.map(flex));
    case "bubble": return bubble(node);
    case "box": return box(node);
    case "text": return text(node);
    case "span": return h("span", {style: {color: node.color, fontWeight: node.weight === "bold" ? "700" : null}},
      node.text || "");
    case "image": return clickable(picture(node.url, node.aspectRatio || "1:1", "画像",
      node.size === "full" ? "full" : ""), node.action);
    case "video": return picture(node.previewUrl, node.aspectRatio || "16:9", "▶ 動画", "full");
    case "icon": return h("span", {class: "icon"}, "●");
    case "button": return button(node);
    case "separator": return h("hr", {class: "sep", style: {marginTop: space(node.margin)}});
    case "filler": return h("div", {style: {flex: String(node.flex ?? 1)}});
    case "spacer": return h("div", {style: {height: space(node.size || "md")}});
    default: return h("div", {class: "muted"}, `[${node.type}]`);
  }
}

// A carousel scrolls sideways; it takes keyboard focus so arrow keys scroll it too (not only a mouse).
function carousel(children) {
  return h("div", {class: "carousel", tabindex: "0", role: "group", "aria-label": "カルーセル(左右にスクロール)"},
    children);
}

function bubble(node) {
  const styles = node.styles || {};
  const part = (name) => node[name] && h("div", {class: `part ${name}`,
    style: {background: (styles[name] || {}).backgroundColor}}, flex(node[name]));
  return h("div", {class: `flex-bubble ${node.size || "mega"}`}, part("header"), part("hero"), part("body"),
    part("footer"));
}

function box(node) {
  const el = h("div", {class: `box ${node.layout}`, style: {
    gap: space(node.spacing), marginTop: space(node.margin), padding: space(node.paddingAll),
    background: node.backgroundColor, borderRadius: node.cornerRadius ? space(node.cornerRadius) : null,
    flex: node.flex !== undefined ? String(node.flex) : null}}, (node.contents || []).map(flex));
  return clickable(el, node.action);
}

function text(node) {
  const size = SIZES.includes(node.size) ? node.size : "md";
  const el = h("div", {class: `text size-${size}${node.wrap ? " wrap" : ""}`, style: {
    color: node.color, fontWeight: node.weight === "bold" ? "700" : null, textAlign: node.align,
    marginTop: space(node.margin), flex: node.flex !== undefined ? String(node.flex) : null}},
  node.contents && node.contents.length ? node.contents.map(flex) : node.text || "");
  return clickable(el, node.action);
}

function button(node) {
  const style = node.style || "link";
  const colors = style === "link" ? {color: node.color} : {background: node.color};
  return h("button", {type: "button", class: `fbutton ${style} ${node.height || "md"}`,
    style: {...colors, marginTop: space(node.margin)}, onclick: () => act(node.action)},
  node.action.label || "");
}

function template(t) {
  const actions = (t.actions || []).map((a) => h("button", {type: "button", class: "fbutton link",
    onclick: () => act(a)}, a.label || ""));
  const col = (c) => h("div", {class: "flex-bubble"},
    c.thumbnailImageUrl && picture(c.thumbnailImageUrl, "1.51:1", "画像", "full"),
    h("div", {class: "part body"}, c.title && h("div", {class: "text size-md wrap bold"}, c.title),
      h("div", {class: "text size-sm wrap"}, c.text || "")),
    h("div", {class: "part footer"}, (c.actions || []).map((a) => h("button", {type: "button",
      class: "fbutton link", onclick: () => act(a)}, a.label || ""))));
  if (t.type === "confirm") {
    return h("div", {class: "flex-bubble"}, h("div", {class: "part body"},
      h("div", {class: "text size-md wrap"}, t.text)), h("div", {class: "part footer box horizontal"}, actions));
  }
  if (t.type === "carousel") return carousel(t.columns.map(col));
  if (t.type === "image_carousel") {
    return carousel(t.columns.map((c) => clickable(
      picture(c.imageUrl, "1:1", c.action && c.action.label || "画像", "square"), c.action)));
  }
  return col(t);
}

function renderMessage(m) {
  switch (m.type) {
    case "text": return h("div", {class: "bubble bot-text"}, m.text);
    case "flex": return h("div", {class: "flex-message", title: m.altText}, flex(m.contents));
    case "template": return h("div", {class: "flex-message", title: m.altText}, template(m.template));
    case "video": return h("div", {class: "media video"}, picture(m.previewImageUrl, "16:9", "▶ 動画", "full"),
      h("small", {class: "muted"}, m.originalContentUrl));
    case "image": return h("div", {class: "media"}, picture(m.previewImageUrl || m.originalContentUrl, null, "画像"));
    case "sticker": return h("div", {class: "bubble bot-text"}, `[スタンプ ${m.packageId}/${m.stickerId}]`);
    case "location": return h("div", {class: "bubble bot-text"}, `📍 ${m.title}\n${m.address}`);
    default: return h("div", {class: "bubble bot-text muted"}, `[${m.type}]`);
  }
}
