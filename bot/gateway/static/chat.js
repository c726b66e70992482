// The browser chat: sends to the gateway like any channel and shows the conversation's transcript.
(function () {
  "use strict";
  var RTL = { ar: 1, fa: 1, ps: 1 };
  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("text");
  var session = localStorage.getItem("putokaz-session");
  if (!session) {
    session = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2)).replace(/[^a-zA-Z0-9-]/g, "");
    localStorage.setItem("putokaz-session", session);
  }
  var lastId = 0, counter = Date.now();

  function render(m) {
    var div = document.createElement("div");
    div.className = "msg " + m.author;
    div.dir = "auto";
    if (m.author === "counsellor") {
      var who = document.createElement("span");
      who.className = "who";
      who.textContent = "👤";
      div.appendChild(who);
    }
    var body = document.createElement("span");
    body.textContent = m.kind === "location" ? "📍" : m.text;  // text only: never HTML
    div.appendChild(body);
    var buttons = (m.data && m.data.buttons) || [];
    if (buttons.length && m.author !== "person") {
      var row = document.createElement("div");
      row.className = "buttons";
      buttons.forEach(function (b) {
        var btn = document.createElement("button");
        btn.type = "button";
        btn.textContent = b.title;
        btn.dir = "auto";
        btn.addEventListener("click", function () { send(null, b.payload, b.title); });
        row.appendChild(btn);
      });
      div.appendChild(row);
    }
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
  }

  function poll() {
    fetch("/chat/api/messages?session=" + encodeURIComponent(session) + "&after=" + lastId)
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.language) { document.documentElement.lang = data.language; document.documentElement.dir = RTL[data.language] ? "rtl" : "ltr"; }
        (data.messages || []).forEach(function (m) {
          lastId = Math.max(lastId, m.id);
          var pending = document.querySelector(".pending");
          if (m.author === "person" && pending) { pending.remove(); }
          if (m.author === "person" && m.kind === "button") { return; }
          render(m);
        });
      })
      .catch(function () {})
      .finally(function () { setTimeout(poll, 1200); });
  }

  function send(text, payload, shown) {
    counter += 1;
    var body = { session: session, message_id: String(counter) };
    if (payload) { body.payload = payload; } else { body.text = text; }
    if (!payload) {
      var echo = document.createElement("div");
      echo.className = "msg person pending";
      echo.dir = "auto";
      echo.textContent = shown || text;
      log.appendChild(echo);
      log.scrollTop = log.scrollHeight;
    }
    return fetch("/chat/api/messages", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send(text);
  });
  poll();
})();
