// The Slack sandbox page: live updates (Server-Sent Events), dates in the viewer's time zone, and
// every click, message, slash command and form sent as the chosen person.
"use strict";
(function () {
  var config = JSON.parse(document.getElementById("config").textContent);
  var $ = function (sel, root) { return (root || document).querySelector(sel); };

  // --- dates: <!date^epoch^{format}|fallback> and message times, in this browser's time zone ---
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function formatDate(epoch, format) {
    var d = new Date(epoch * 1000);
    var time = pad(d.getHours()) + ":" + pad(d.getMinutes());
    var lang = navigator.language || "en";
    var parts = {
      "{time}": time,
      "{time_secs}": time + ":" + pad(d.getSeconds()),
      "{date_num}": d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()),
      "{date_short}": d.toLocaleDateString(lang, { month: "short", day: "numeric", year: "numeric" }),
      "{date}": d.toLocaleDateString(lang, { month: "long", day: "numeric", year: "numeric" }),
      "{date_long}": d.toLocaleDateString(lang, { weekday: "long", month: "long", day: "numeric", year: "numeric" }),
    };
    parts["{date_pretty}"] = parts["{date}"];
    parts["{date_short_pretty}"] = parts["{date_short}"];
    parts["{date_long_pretty}"] = parts["{date_long}"];
    parts["{day_divider_pretty}"] = parts["{date_long}"];
    var ago = Math.round((Date.now() - d.getTime()) / 60000);
    parts["{ago}"] = ago < 1 ? "just now" : ago < 60 ? ago + " minutes ago" : Math.round(ago / 60) + " hours ago";
    return format.replace(/\{[a-z_]+\}/g, function (token) { return parts[token] || token; });
  }
  function localiseDates(root) {
    root.querySelectorAll("time.slack-date").forEach(function (t) {
      var epoch = parseInt(t.dataset.epoch, 10);
      if (!isNaN(epoch)) {
        t.textContent = formatDate(epoch, t.dataset.format || "{time}");
        t.title = new Date(epoch * 1000).toString();
      }
    });
  }

  // --- talking to the sandbox ---
  function toast(text) {
    var el = $("#toast");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { el.hidden = true; }, 5000);
  }
  function send(path, fields) {
    var body = fields instanceof FormData ? fields : new URLSearchParams(fields);
    if (!(fields instanceof FormData) && !body.has("user")) { body.set("user", config.viewer); }
    return fetch(path, { method: "POST", body: body, headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) { return r.text().then(function (t) { toast(t || r.statusText); throw new Error(t); }); }
        return r.json();
      })
      .then(function (result) {
        // What Slack shows when the app does not acknowledge in time, or is not connected.
        if (result && result.status === 408) { toast("The app did not respond in time (Slack allows 3 seconds)."); }
        if (result && result.status === 0) { toast("The app is not connected."); }
        refresh();
        return result;
      });
  }
  function query(extra) {
    var p = new URLSearchParams({ as: config.viewer, channel: config.channel, tab: config.tab });
    if (config.thread) { p.set("thread", config.thread); }
    Object.keys(extra || {}).forEach(function (k) { p.set(k, extra[k]); });
    return p.toString();
  }

  // --- live updates: re-render the message lists; typing in a composer or a form is never lost ---
  var busy = false, again = false;
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch("/_sandbox/fragments?" + query()).then(function (r) { return r.json(); }).then(function (parts) {
      var main = $("#main"), atBottom = main.scrollHeight - main.scrollTop - main.clientHeight < 80;
      rerender(main, parts.main);
      if (atBottom) { main.scrollTop = main.scrollHeight; }
      rerender($("#thread"), parts.thread);
      var modalRoot = $("#modal-root");
      if (modalRoot.dataset.viewId !== parts.modal_id) {
        modalRoot.dataset.viewId = parts.modal_id;
        modalRoot.innerHTML = parts.modal;
        var first = $("input, textarea, select", modalRoot);
        if (first) { first.focus(); }
      } else if (parts.modal) {
        showModalErrors(modalRoot, parts.modal);
      }
    }).catch(function () {}).finally(function () {
      busy = false;
      if (again) { again = false; refresh(); }
    });
  }
  function rerender(root, html) {
    // A message's menu that is open stays open when the list is redrawn (a new message arrived), as in Slack.
    var menu = root.querySelector(".msg-menu:not([hidden])"), msg = menu && messageOf(menu);
    var open = msg ? msg.dataset.ts : null;
    if (root.innerHTML === html) { return; }
    root.innerHTML = html;
    localiseDates(root);
    if (open === null) { return; }
    root.querySelectorAll(".msg").forEach(function (each) {
      var again = each.dataset.ts === open && each.querySelector(".msg-menu");
      if (again) { again.hidden = false; }
    });
  }
  function showModalErrors(root, html) {
    // Same form, new errors: update only the messages, keep what the person typed.
    var fresh = document.createElement("div");
    fresh.innerHTML = html;
    root.querySelectorAll(".sk-input").forEach(function (label, i) {
      var now = fresh.querySelectorAll(".sk-input")[i];
      var old = $(".sk-error", label), err = now && $(".sk-error", now);
      if (old) { old.remove(); }
      if (err) { label.querySelector("input, textarea, select").after(err); }
    });
  }
  if (window.EventSource) {
    new EventSource("/_sandbox/events").onmessage = refresh;
  } else {
    setInterval(refresh, 2000);
  }

  // --- clicks on buttons, selects, the message menu ---
  function messageOf(el) { return el.closest(".msg"); }
  function actionFields(el, value) {
    var msg = messageOf(el), fields = { action_id: el.dataset.actionId, value: value };
    if (msg && msg.dataset.ephemeral !== undefined) {
      fields.ephemeral = msg.dataset.ephemeral;
    } else if (msg) {
      fields.channel = msg.dataset.channel;
      fields.ts = msg.dataset.ts;
    } else {
      var home = el.closest(".home");
      if (home) { fields.home = home.dataset.viewId; }
    }
    return fields;
  }
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("button, a");
    if (!el) { return; }
    document.querySelectorAll(".msg-menu").forEach(function (m) { if (!m.contains(el)) { m.hidden = true; } });
    if (el.matches("button[data-action-id]")) {
      ev.preventDefault();
      var fields = actionFields(el, el.dataset.value);
      send(fields.home ? "/_sandbox/home_click" : "/_sandbox/click", fields);
    } else if (el.matches(".menu-btn")) {
      var menu = el.nextElementSibling;
      menu.hidden = !menu.hidden;
    } else if (el.matches("[data-shortcut]")) {
      var msg = messageOf(el);
      el.closest(".msg-menu").hidden = true;
      send("/_sandbox/shortcut", { callback_id: el.dataset.shortcut, channel: msg.dataset.channel, ts: msg.dataset.ts });
    } else if (el.matches("[data-edit]") || el.matches("[data-delete]")) {
      var own = messageOf(el), where = { channel: own.dataset.channel, ts: own.dataset.ts };
      el.closest(".msg-menu").hidden = true;
      if (el.matches("[data-edit]")) {
        var text = window.prompt("Edit message", el.dataset.text);
        if (text !== null && text.trim()) { where.text = text; send("/_sandbox/edit", where); }
      } else if (window.confirm("Delete this message? This can't be undone.")) {
        send("/_sandbox/delete", where);
      }
    } else if (el.matches("[data-close-modal]")) {
      send("/_sandbox/view_close", {});
    } else if (el.matches(".hints button")) {
      var input = $("#channel-composer input");
      input.value = el.dataset.command + " ";
      input.focus();
      showHints(input);
    }
  });
  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches("#thread-composer input[type=file]") && el.files.length) {
      // Share the file in the thread, with what is typed as its message (Slack's upload).
      var data = new FormData(), text = $("#thread-composer input[name=text]");
      data.set("user", config.viewer);
      data.set("channel", config.channel);
      data.set("thread_ts", config.thread);
      data.set("text", text.value.trim());
      data.set("file", el.files[0]);
      text.value = "";
      send("/_sandbox/share", data).then(function () { el.value = ""; });
    } else if (el.matches("select[data-action-id]") && el.value) {
      send("/_sandbox/click", actionFields(el, el.value));
    } else if (el.id === "as") {
      location.search = "?" + query({ as: el.value });
    }
  });

  // --- composers: messages, thread replies and slash commands (with the manifest's hints) ---
  function showHints(input) {
    var box = $(".hints", input.form), text = input.value;
    if (!box) { return; }
    var typed = text.split(" ")[0];
    var matches = text.startsWith("/") ? config.commands.filter(function (c) {
      return c.command.startsWith(typed) && (text.indexOf(" ") < 0 || c.command === typed);
    }) : [];
    box.hidden = !matches.length;
    box.innerHTML = "";
    matches.forEach(function (c) {
      var b = document.createElement("button");
      b.type = "button";
      b.dataset.command = c.command;
      b.innerHTML = "<strong></strong> <span class='usage'></span><small></small>";
      b.querySelector("strong").textContent = c.command;
      b.querySelector(".usage").textContent = c.hint;
      b.querySelector("small").textContent = c.description;
      box.appendChild(b);
    });
  }
  document.addEventListener("input", function (ev) {
    if (ev.target.matches("#channel-composer input")) { showHints(ev.target); }
  });
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    ev.preventDefault();
    if (form.matches(".modal")) { return submitModal(form); }
    var input = $("input[name=text]", form), text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    var hints = $(".hints", form);
    if (hints) { hints.hidden = true; }
    if (form.id === "channel-composer" && text.startsWith("/")) {
      var space = text.indexOf(" ");
      send("/_sandbox/command", {
        channel: config.channel, command: space < 0 ? text : text.slice(0, space),
        text: space < 0 ? "" : text.slice(space + 1),
      });
    } else {
      var fields = { channel: config.channel, text: text };
      if (form.id === "thread-composer") { fields.thread_ts = config.thread; }
      send("/_sandbox/post", fields);
    }
  });
  function submitModal(form) {
    var data = new FormData(form);
    data.set("user", config.viewer);
    data.set("view_id", form.dataset.viewId);
    form.querySelectorAll("input[type=datetime-local]").forEach(function (i) {
      if (i.value) { data.set(i.name + "__epoch", String(Math.floor(new Date(i.value).getTime() / 1000))); }
    });
    send("/_sandbox/view_submit", data);
  }

  // --- navigation without reloads for the thread panel; the App Home opens as Slack's does ---
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest("a.thread-link, a.close-thread");
    if (!link) { return; }
    ev.preventDefault();
    config.thread = link.dataset.thread || null;
    history.replaceState(null, "", "/?" + query());
    $("aside.thread").hidden = !config.thread;
    $("#thread").innerHTML = "";
    refresh();
    if (config.thread) { $("#thread-composer input").focus(); }
  });
  $(".nav-toggle").addEventListener("click", function () { document.body.classList.toggle("show-nav"); });
  if (config.tab === "home") { send("/_sandbox/home", {}); }
  localiseDates(document);
  var main = $("#main");
  main.scrollTop = main.scrollHeight;
})();
