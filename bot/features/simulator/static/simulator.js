// LINE chat simulator (local mode). Every runner action is POSTed to /simulator/api/send, which signs a
// LINE-shaped webhook and posts it to the bot's own /callback. What the bot sends arrives at the in-app
// LINE stand-in; we long-poll /simulator/api/updates and draw each message from the exact JSON sent.
"use strict";

const S = {
  users: [], current: null, seq: 0, hooks: 0,
  chats: {}, // userId -> [{el}] chat DOM kept per runner
  status: {}, // userId -> "new" | "friend" | "blocked"
  quick: {}, // userId -> quickReply object of the newest bot message, or null
  unread: {}, tokenUser: {}, loadingTimer: null,
  // userId -> the newest message sequence this page showed them, kept across reloads: replaying the
  // history after a reload does not make old messages unread again.
  seen: JSON.parse(localStorage.getItem("sim.seen") || "{}"),
  stick: true, // the chat is scrolled to its end: keep it there when messages or quick replies appear
  replaying: true, // until the first poll (the history so far) is drawn
};
const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "style") Object.assign(el.style, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c);
  return el;
}

async function api(path, body) {
  const opts = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)};
  const r = await fetch(path, opts);
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

// ---- runners ---------------------------------------------------------------------------------
function chatOf(uid) { return (S.chats[uid] ||= h("div", {class: "chat-log", "data-user": uid})); }

function renderRunners() {
  const list = $("runner-list");
  list.replaceChildren(...S.users.map((u) => h("li", {},
    h("button", {type: "button", class: u.userId === S.current ? "runner active" : "runner",
      "aria-pressed": String(u.userId === S.current), onclick: () => select(u.userId)},
      u.displayName, S.unread[u.userId] ? h("span", {class: "badge"}, String(S.unread[u.userId])) : null,
      S.status[u.userId] === "blocked" ? h("span", {class: "tag"}, "ブロック中") : null))));
}

function markSeen(uid) {
  S.unread[uid] = 0;
  S.seen[uid] = S.seq;
  localStorage.setItem("sim.seen", JSON.stringify(S.seen));
}

function select(uid) {
  S.current = uid; markSeen(uid); closeDrawers();
  localStorage.setItem("sim.current", uid);
  const user = S.users.find((u) => u.userId === uid);
  $("runner-name").textContent = user ? `${user.displayName} として表示中` : "";
  $("chat").replaceChildren(chatOf(uid));
  renderRunners(); renderControls(); renderDevLog(); refreshJobs(); refreshMenu();
  S.stick = true; scrollChat();
}

async function addRunner() {
  const user = await api("/simulator/api/users", {});
  S.users.push(user); select(user.userId);
}

function renderControls() {
  const st = S.status[S.current] || "new";
  $("bar-new").hidden = st !== "new";
  $("bar-blocked").hidden = st !== "blocked";
  $("bar-friend").hidden = st !== "friend";
  $("block").hidden = st !== "friend";
  const quick = st === "friend" ? S.quick[S.current] : null;
  const box = $("quick-replies");
  box.hidden = !quick;
  box.replaceChildren(...(quick ? quick.items.map((item) => h("button", {type: "button", class: "quick",
    onclick: () => act(item.action)}, item.action.label || "")) : []));
  drawMenu();
  if (S.stick) scrollChat(); // the pills (or the menu) took room from the chat: its end stays in view
}

// ---- sending ---------------------------------------------------------------------------------
async function send(payload) {
  const uid = S.current;
  if (!uid) return; // still starting: no runner selected yet
  S.quick[uid] = null; renderControls(); // LINE hides the quick replies as soon as the runner acts
  try {
    const sent = await api("/simulator/api/send", {userId: uid, ...payload});
    hookStatus(sent.webhook.index, sent.status);
  }
  catch (e) { system(uid, `送信できませんでした(${e.message})`); }
}

function act(action) {
  if (S.status[S.current] !== "friend") return;
  switch (action.type) {
    case "postback": return send({kind: "postback", data: action.data, displayText: action.displayText});
    case "message": return send({kind: "message", text: action.text});
    case "datetimepicker": return pickDate(action);
    case "uri":
      system(S.current, `リンクを開きます: ${action.uri}`);
      return window.open(action.uri, "_blank", "noopener");
    default: return system(S.current, `「${action.type}」はシミュレーターでは使えません`);
  }
}

function pickDate(action) {
  const mode = action.mode || "datetime";
  const input = $("picker-input");
  input.type = mode === "datetime" ? "datetime-local" : mode;
  for (const k of ["min", "max"]) if (action[k]) input[k] = action[k]; else input.removeAttribute(k);
  input.value = action.initial || "";
  $("picker-label").textContent = action.label || "日時を選択";
  const dialog = $("picker");
  $("picker-form").onsubmit = (ev) => {
    ev.preventDefault(); dialog.close();
    system(S.current, `選択: ${input.value}`);
    send({kind: "postback", data: action.data, params: {[mode]: input.value}});
  };
  $("picker-cancel").onclick = () => dialog.close();
  dialog.showModal();
}

// ---- drawing the chat ------------------------------------------------------------------------
function time(ts) {
  const d = new Date(ts * 1000);
  return `${d.getHours()}:${String(d.getMinutes()).padStart(2, "0")}`;
}

// ``seq``: a bot message's sequence number; only those count as unread, and only when newer than what
// this page last showed that runner (a reload replays everything).
function append(uid, el, seq) {
  chatOf(uid).append(el);
  if (uid === S.current) { if (S.stick) scrollChat(); return; }
  const seen = S.seen[uid];
  // The first poll replays the whole history: only what arrived after this browser last showed the runner
  // is unread then (a runner this browser never showed has nothing unread yet).
  const unread = S.replaying ? seen !== undefined && seq > seen : seq > (seen || 0);
  if (seq && unread) { S.unread[uid] = (S.unread[uid] || 0) + 1; renderRunners(); }
}
function scrollChat() { const c = $("chat"); c.scrollTop = c.scrollHeight; }
function atEnd() { const c = $("chat"); return c.scrollHeight - c.scrollTop - c.clientHeight < 24; }
function system(uid, text) { append(uid, h("div", {class: "system"}, text)); }

function userSays(uid, text, ts) {
  append(uid, h("div", {class: "row me"}, h("span", {class: "time"}, time(ts)), h("div", {class: "bubble me"}, text)));
}

function botSays(uid, message, ts, via, seq) {
  stopLoading(uid);
  const body = renderMessage(message);
  append(uid, h("div", {class: "row bot", "data-via": via}, h("div", {class: "avatar", "aria-hidden": "true"}, "整"),
    body, h("span", {class: "time"}, via === "reply" ? time(ts) : `${time(ts)} ${via}`)), seq);
}

function startLoading(uid, seconds) {
  stopLoading(uid);
  append(uid, h("div", {class: "row bot loading"}, h("div", {class: "avatar", "aria-hidden": "true"}, "整"),
    h("div", {class: "bubble dots"}, h("i"), h("i"), h("i"))));
  S.loadingTimer = setTimeout(() => stopLoading(uid), seconds * 1000);
}
function stopLoading(uid) { chatOf(uid).querySelectorAll(".loading").forEach((el) => el.remove()); }

// ---- applying updates ------------------------------------------------------------------------
function onWebhook(w) {
  const uid = w.userId;
  if (!S.users.some((u) => u.userId === uid)) S.users.push({userId: uid, displayName: uid.slice(0, 9)});
  for (const ev of w.body.events) {
    if (ev.replyToken) S.tokenUser[ev.replyToken] = uid;
    S.quick[uid] = null;
    if (ev.type === "follow") {
      S.status[uid] = "friend";
      system(uid, ev.follow && ev.follow.isUnblocked ? "ブロックを解除しました" : "友だち追加しました");
    } else if (ev.type === "unfollow") {
      S.status[uid] = "blocked"; system(uid, "ブロックしました");
    } else if (ev.type === "message") {
      userSays(uid, ev.message.text, w.timestamp);
    } else if (ev.type === "postback" && w.display) {
      userSays(uid, w.display, w.timestamp);
    }
  }
  devEntry({hook: w.index, user: uid, ts: w.timestamp, title: hookTitle(w.status),
    detail: w.body.events.map((e) => e.type).join(", "), json: w.body, dir: "in"});
}

function onEvent(e) {
  if (e.kind === "richmenu") { if (!e.userId || e.userId === S.current) refreshMenu(); return; }
  if (!e.userId) return;
  if (e.kind === "message") {
    botSays(e.userId, e.message, e.timestamp, e.via, e.seq);
    S.quick[e.userId] = e.message.quickReply || null;
    if (e.message.quickReply && e.userId === S.current) foldMenuForQuickReplies();
  } else if (e.kind === "loading") startLoading(e.userId, e.loadingSeconds || 5);
}

function onRequest(r) {
  const b = r.body || {};
  const user = (typeof b.to === "string" && b.to) || b.chatId || S.tokenUser[b.replyToken] || null;
  devEntry({user, ts: r.timestamp, title: `LINE API ← ${r.method} ${r.path} ${r.status}`,
    detail: r.invalid ? "仕様違反" : "", json: r.body, dir: r.status >= 400 ? "err" : "out",
    errors: r.errors});
}

async function poll() {
  for (;;) {
    try {
      const u = await api(`/simulator/api/updates?after=${S.seq}&hooks=${S.hooks}&wait=20`);
      const items = [
        ...u.webhooks.map((w) => ({ts: w.timestamp, k: 0, run: () => onWebhook(w)})),
        ...u.events.map((e) => ({ts: e.timestamp, k: 1, run: () => onEvent(e)})),
        ...u.requests.map((r) => ({ts: r.timestamp, k: 2, run: () => onRequest(r)})),
      ].sort((a, b) => a.ts - b.ts || a.k - b.k);
      items.forEach((i) => i.run());
      S.seq = u.lastSeq; S.hooks = u.hookCount;
      if (S.replaying) {
        S.replaying = false;
        for (const user of S.users) if (S.seen[user.userId] === undefined) S.seen[user.userId] = u.lastSeq;
      }
      if (items.length) { markSeen(S.current); renderRunners(); renderControls(); refreshJobs(); }
    } catch (e) {
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

// ---- scheduled sends (check-ins, reminders) --------------------------------------------------
const JOB_NAMES = {checkin: "経過のご確認", reminder: "予約のリマインド"};
async function refreshJobs() {
  if (!S.current) return;
  const uid = S.current;
  const {jobs} = await api(`/simulator/api/jobs?userId=${uid}`);
  if (uid !== S.current) return;
  $("job-list").replaceChildren(...(jobs.length ? jobs.map((j) => h("li", {},
    h("span", {}, `${JOB_NAMES[j.kind] || j.kind}(${new Date(j.due * 1000).toLocaleString("ja-JP")})`),
    h("button", {type: "button", class: "plain", onclick: async () => {
      await api("/simulator/api/jobs/run", {userId: uid, jobId: j.id}); setTimeout(refreshJobs, 500);
    }}, "今すぐ送る"))) : [h("li", {class: "muted"}, "なし")]));
}

// ---- developer panel -------------------------------------------------------------------------
const DEV = [];
const hookTitle = (status) => `Webhook → POST /callback ${status ?? "送信中"}`;
function hookStatus(index, status) {
  const entry = DEV.find((e) => e.hook === index);
  if (entry) { entry.title = hookTitle(status); renderDevLog(); }
}
function devEntry(entry) { DEV.push(entry); if (DEV.length > 500) DEV.shift(); renderDevLog(); }

function renderDevLog() {
  const all = $("dev-all").checked;
  const shown = DEV.filter((e) => all || !e.user || e.user === S.current).slice(-80);
  $("dev-log").replaceChildren(...shown.map((e) => h("li", {class: `dev ${e.dir}`},
    h("details", {open: e.open, ontoggle: (ev) => { e.open = ev.target.open; }}, h("summary", {}, h("span", {class: "time"}, time(e.ts)), ` ${e.title} `,
      h("small", {}, e.detail || "")),
    h("pre", {tabindex: "0"}, JSON.stringify(e.errors && e.errors.length ? {errors: e.errors, body: e.json} : e.json,
      null, 2))))));
  const log = $("dev-log"); log.scrollTop = log.scrollHeight;
}

// ---- phone-sized screens: the runner list and the developer panel slide over the chat -------------
function openSide(open) {
  document.body.classList.toggle("side-open", open);
  $("open-side").setAttribute("aria-expanded", String(open));
  if (open) $("close-side").focus();
}
function openDev(open) {
  document.body.classList.toggle("dev-open", open);
  if (open) { openSide(false); $("close-dev").focus(); }
}
function closeDrawers() {
  if (document.body.classList.contains("side-open")) { openSide(false); $("open-side").focus(); }
}

// ---- start -----------------------------------------------------------------------------------
function wirePage() {
  $("open-side").onclick = () => openSide(!document.body.classList.contains("side-open"));
  $("close-side").onclick = () => { openSide(false); $("open-side").focus(); };
  $("open-dev").onclick = () => openDev(true);
  $("close-dev").onclick = () => { openDev(false); $("open-side").focus(); };
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") { openDev(false); closeDrawers(); }
  });
  $("menu-bar").onclick = toggleMenu;
  const chat = $("chat");
  chat.addEventListener("scroll", () => { S.stick = atEnd(); });
  // Whatever changes the chat's height (quick replies, the menu, a picture, the keyboard) keeps its end in
  // view when it was in view.
  const keep = new ResizeObserver(() => { if (S.stick) scrollChat(); });
  keep.observe(chat);
  new MutationObserver(() => { if (S.stick) scrollChat(); }).observe(chat, {childList: true, subtree: true});
}

async function start() {
  wirePage();
  $("follow").onclick = () => send({kind: "follow"});
  $("unblock").onclick = () => send({kind: "unblock"});
  $("block").onclick = () => send({kind: "unfollow"});
  $("add-runner").onclick = addRunner;
  $("dev-all").onchange = renderDevLog;
  $("bar-friend").onsubmit = (ev) => {
    ev.preventDefault();
    const text = $("text").value.trim();
    if (text) { $("text").value = ""; send({kind: "message", text}); }
  };
  const config = await api("/simulator/api/config");
  $("account-name").textContent = config.accountName;
  S.users = (await api("/simulator/api/users")).users;
  if (!S.users.length) S.users.push(await api("/simulator/api/users", {}));
  const saved = localStorage.getItem("sim.current");
  select(S.users.some((u) => u.userId === saved) ? saved : S.users[0].userId);
  poll();
  document.body.dataset.ready = "1"; // a runner is selected: taps from now on have someone to come from
}

document.addEventListener("DOMContentLoaded", start);
