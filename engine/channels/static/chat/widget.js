/* ticketty chat widget: plain JavaScript, no build step.
 * Embedded with one <script src=".../chat/<id>/widget.js" async></script>.
 * Renders in an open shadow root; every text from visitors or agents is set with textContent.
 * Stable hooks: data-ticketty="launcher|panel|input|send|message", data-author on messages. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) {
    var all = document.querySelectorAll('script[src*="/widget.js"]');
    script = all[all.length - 1];
  }
  if (!script) return;
  var base = script.src.replace(/\/widget\.js(\?.*)?$/, "");
  var storeKey = "ticketty:" + base;
  if (window["__ticketty_" + base]) return;
  window["__ticketty_" + base] = true;

  function load() {
    try { return JSON.parse(localStorage.getItem(storeKey) || "{}") || {}; } catch (e) { return {}; }
  }
  function save() {
    try { localStorage.setItem(storeKey, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }
  var state = load(); // {token, email_given}: kept in localStorage
  var last = 0; // the last line this page shows: a reconnect resumes after it

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = text;
    return node;
  }

  var host = el("div", { id: "ticketty-chat" });
  var root = host.attachShadow({ mode: "open" });
  root.appendChild(el("link", { rel: "stylesheet", href: base + "/widget.css" }));
  var frame = el("div", { "class": "tt bottom-right hidden" });
  var launcher = el("button", { "class": "launcher", "data-ticketty": "launcher", type: "button",
                                "aria-label": "Chat with us" }, "\u{1F4AC}");
  var panel = el("section", { "class": "panel", "data-ticketty": "panel", role: "dialog",
                              "aria-label": "Chat" });
  var head = el("header", { "class": "head" });
  var avatar = el("span", { "class": "avatar" });
  var title = el("strong", { "class": "title" }, "Support");
  var status = el("span", { "class": "status" }, "");
  var close = el("button", { "class": "close", type: "button", "aria-label": "Close" }, "\u00d7");
  var titles = el("span", { "class": "titles" });
  titles.appendChild(title); titles.appendChild(status);
  head.appendChild(avatar); head.appendChild(titles); head.appendChild(close);
  var log = el("div", { "class": "log", "aria-live": "polite" });
  var welcome = el("div", { "class": "msg bot welcome" });
  var typing = el("div", { "class": "typing hidden" }, "typing\u2026");
  var quick = el("div", { "class": "quick" });
  var form = el("form", { "class": "email hidden", "data-ticketty": "email" });
  var nameIn = el("input", { type: "text", placeholder: "Your name", maxlength: "100",
                             "data-ticketty": "name" });
  var emailIn = el("input", { type: "email", placeholder: "you@example.com", required: "",
                              "data-ticketty": "email-input" });
  var emailGo = el("button", { type: "submit" }, "OK");
  var formNote = el("div", { "class": "note" });
  form.appendChild(formNote); form.appendChild(nameIn); form.appendChild(emailIn);
  form.appendChild(emailGo);
  var composer = el("form", { "class": "composer" });
  var input = el("textarea", { rows: "1", placeholder: "Write a message\u2026",
                               "data-ticketty": "input", "aria-label": "Message" });
  var send = el("button", { type: "submit", "data-ticketty": "send" }, "Send");
  composer.appendChild(input); composer.appendChild(send);
  log.appendChild(welcome);
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(typing);
  panel.appendChild(quick); panel.appendChild(form); panel.appendChild(composer);
  frame.appendChild(panel); frame.appendChild(launcher);
  root.appendChild(frame);

  var ws = null, retry = 500, config = null, pending = [], seen = {}, typingAt = 0, typingOff;
  var maxChars = 4000;

  function show(open) {
    frame.classList.toggle("open", open);
    if (open) { input.focus(); log.scrollTop = log.scrollHeight; }
  }
  launcher.addEventListener("click", function () { show(!frame.classList.contains("open")); });
  close.addEventListener("click", function () { show(false); });

  function addLine(m) {
    if (seen[m.id]) return;
    seen[m.id] = true;
    var row = el("div", { "class": "msg " + m.author, "data-ticketty": "message",
                          "data-author": m.author, "data-id": String(m.id) });
    if (m.author !== "visitor" && m.name) row.appendChild(el("span", { "class": "who" }, m.name));
    row.appendChild(el("span", { "class": "text" }, m.text));
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
    if (m.author !== "visitor") typing.classList.add("hidden");
  }
  function pendingLine(p) {
    var row = el("div", { "class": "msg visitor pending", "data-cid": p.id }, null);
    row.appendChild(el("span", { "class": "text" }, p.text));
    log.appendChild(row);
    log.scrollTop = log.scrollHeight;
  }
  function dropPending(cid) {
    pending = pending.filter(function (p) { return p.id !== cid; });
    var row = log.querySelector('[data-cid="' + cid + '"]');
    if (row) row.remove();
  }

  function apply(c) {
    config = c;
    maxChars = c.max_chars || maxChars;
    frame.className = "tt " + (c.position === "bottom-left" ? "bottom-left" : "bottom-right") +
      (frame.classList.contains("open") ? " open" : "") + (c.mode === "hidden" ? " hidden" : "");
    host.style.setProperty("--tt-accent", /^#[0-9a-f]{6}$/i.test(c.accent_color) ? c.accent_color : "#2563eb");
    title.textContent = c.team_name || "Support";
    avatar.textContent = "";
    if (c.avatar && c.avatar.image) avatar.appendChild(el("img", { src: c.avatar.image, alt: "" }));
    else avatar.textContent = (c.avatar && c.avatar.initials) || "?";
    welcome.textContent = c.mode === "away" ? c.away_message : c.welcome;
    status.textContent = c.mode === "away" ? "away" : "online";
    form.classList.toggle("hidden", !c.ask_email || state.email_given);
    formNote.textContent = c.mode === "away" ? "Leave your email and we'll answer by mail:" :
      "Your name and email, in case we get cut off:";
    quick.textContent = "";
    (c.quick_replies || []).forEach(function (label) {
      var b = el("button", { type: "button", "data-ticketty": "quick" }, label);
      b.addEventListener("click", function () { frameOut({ type: "quick", label: label }); });
      quick.appendChild(b);
    });
  }

  function frameOut(obj) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(obj)); return true; }
    return false;
  }

  function connect() {
    var url = base.replace(/^http/, "ws") + "/ws?after=" + last +
      (state.token ? "&token=" + encodeURIComponent(state.token) : "");
    ws = new WebSocket(url);
    ws.onopen = function () {
      retry = 500;
      pending.forEach(function (p) { frameOut({ type: "message", id: p.id, text: p.text }); });
    };
    ws.onmessage = function (ev) {
      var f;
      try { f = JSON.parse(ev.data); } catch (e) { return; }
      if (f.type === "session") { state.token = f.token; save(); }
      else if (f.type === "config") apply(f);
      else if (f.type === "message") {
        addLine(f);
        if (f.id > last) last = f.id;
      } else if (f.type === "ack") dropPending(f.cid);
      else if (f.type === "typing") {
        typing.textContent = (f.name ? f.name + " is " : "") + "typing\u2026";
        typing.classList.toggle("hidden", !f.on);
      } else if (f.type === "email_ok") {
        state.email_given = true; save(); form.classList.add("hidden");
      } else if (f.type === "closed") status.textContent = "chat ended";
      else if (f.type === "error") formNote.textContent = f.error;
    };
    ws.onclose = function () {
      ws = null;
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  composer.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    if (text.length > maxChars) text = text.slice(0, maxChars);
    var p = { id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8), text: text };
    pending.push(p);
    pendingLine(p);
    input.value = "";
    frameOut({ type: "message", id: p.id, text: p.text });
    frameOut({ type: "typing", on: false });
    typingAt = 0;
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); composer.requestSubmit(); }
  });
  input.addEventListener("input", function () {
    var now = Date.now();
    if (now - typingAt > 1500) { typingAt = now; frameOut({ type: "typing", on: true }); }
    clearTimeout(typingOff);
    typingOff = setTimeout(function () { typingAt = 0; frameOut({ type: "typing", on: false }); }, 3000);
  });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    frameOut({ type: "email", email: emailIn.value.trim(), name: nameIn.value.trim() });
  });

  function start() { document.body.appendChild(host); connect(); }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
