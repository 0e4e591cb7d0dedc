// The Telegram sandbox page: live updates (Server-Sent Events), local times, and the customer's actions:
// text, inline keyboard presses, photos, documents, voice messages and locations.
"use strict";
(function () {
  var config = JSON.parse(document.getElementById("config").textContent);
  var $ = function (sel, root) { return (root || document).querySelector(sel); };

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localiseTimes(root) {
    root.querySelectorAll("time.local-time").forEach(function (t) {
      var d = new Date(parseInt(t.dataset.epoch, 10) * 1000);
      t.textContent = pad(d.getHours()) + ":" + pad(d.getMinutes());
    });
  }
  function toast(text) {
    var el = $("#toast");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { el.hidden = true; }, 5000);
  }
  function post(path, body) {
    if (!(body instanceof FormData)) { body = new URLSearchParams(body); }
    return fetch(path, { method: "POST", body: body, headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) { return r.text().then(function (t) { toast(t || r.statusText); throw new Error(t); }); }
      refresh();
      return r.json();
    });
  }

  var busy = false, again = false, typingTimer = null;
  function scrollToEnd() { var m = $(".messages"); if (m) { m.scrollTop = m.scrollHeight; } }
  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch("/_sandbox/fragments?chat=" + encodeURIComponent(config.chat || "")).then(function (r) { return r.json(); })
      .then(function (parts) {
        var list = $("#chat-list"), chat = $("#chat");
        if (list.innerHTML !== parts.list) { list.innerHTML = parts.list; }
        if (chat.innerHTML !== parts.chat) {
          var m = $(".messages"), atEnd = !m || m.scrollHeight - m.scrollTop - m.clientHeight < 80;
          chat.innerHTML = parts.chat;
          localiseTimes(chat);
          if (atEnd) { scrollToEnd(); }
        }
        clearTimeout(typingTimer);
        if (parts.typing) { typingTimer = setTimeout(refresh, 5500); }  // "typing…" lasts about 5 s
      }).catch(function () {}).finally(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }
  if (window.EventSource) { new EventSource("/_sandbox/events").onmessage = refresh; } else { setInterval(refresh, 2000); }

  document.addEventListener("click", function (ev) {
    var press = ev.target.closest("button[data-press]");
    if (press) {
      var msg = press.closest(".msg");
      post("/_sandbox/press", { user_id: config.chat, message_id: msg.dataset.messageId, data: press.dataset.press })
        .then(function (result) { if (result.answer) { toast(result.answer); } });
      return;
    }
    var attach = ev.target.closest(".attach-menu button[data-kind]");
    if (attach) {
      var form = new FormData();
      form.set("user_id", config.chat);
      form.set("kind", attach.dataset.kind);
      if (attach.dataset.kind === "voice") {
        form.set("file", new Blob(["OggS voice message"], { type: "audio/ogg" }), "voice.oga");
      }
      attach.closest("details").open = false;
      post("/_sandbox/send_media", form);
    }
  });
  document.addEventListener("change", function (ev) {
    var input = ev.target;
    if (!input.matches(".attach-menu input[type=file]") || !input.files.length) { return; }
    var form = new FormData(), text = $("#composer input[name=text]");
    form.set("user_id", config.chat);
    form.set("kind", input.dataset.kind);
    form.set("file", input.files[0]);
    if (text.value.trim()) { form.set("caption", text.value.trim()); text.value = ""; }
    input.closest("details").open = false;
    post("/_sandbox/send_media", form).then(function () { input.value = ""; });
  });
  document.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var form = ev.target;
    if (form.id === "composer") {
      var input = $("input[name=text]", form), text = input.value.trim();
      if (!text) { return; }
      input.value = "";
      post("/_sandbox/send", { user_id: config.chat, text: text });
    } else if (form.id === "new-customer") {
      var data = new FormData(form);
      post("/_sandbox/send", data).then(function (answer) { location.href = "/?chat=" + answer.result.chat.id; });
    }
  });
  localiseTimes(document);
  scrollToEnd();
  if ($(".typing")) { typingTimer = setTimeout(refresh, 5500); }
})();
