// The counsellor console: a queue that updates itself, one conversation at a time, a supervisor view.
// Everything a person (or anyone) wrote is put in the page with textContent: never as HTML.
(function () {
  "use strict";

  var RTL = { ar: true, fa: true, ps: true };
  var LANGUAGE_NAMES = { en: "English", ar: "Arabic", fa: "Farsi/Dari", ps: "Pashto", sr: "Serbian" };
  var CATEGORIES = ["health", "psychosocial", "legal_aid", "shelter", "food", "clothing", "education",
    "child_protection", "women_protection", "anti_trafficking", "family_tracing", "documents", "work",
    "information", "interpretation", "emergency"];
  var PLACES = ["belgrade", "obrenovac", "subotica", "sombor", "kikinda", "kanjiza", "sid", "novi_sad",
    "loznica", "lajkovac", "sjenica", "tutin", "presevo", "bujanovac", "vranje", "pirot",
    "dimitrovgrad", "bosilegrad", "bela_palanka", "nis"];
  var POLL_MS = 3000;

  var state = {
    user: null, csrf: "", queue: [], current: null, detail: null, events: null, polling: null,
    refreshTimer: null, view: "queue", staff: [], teams: {}, myTeam: null
  };

  function $(id) { return document.getElementById(id); }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function show(node, visible) { node.hidden = !visible; }

  // --- the API ---------------------------------------------------------------------------------
  function ApiError(status, message) { this.status = status; this.message = message; }

  // background: the page refreshing itself, which does not keep an idle session alive (X-Console-Background)
  function api(method, path, body, background) {
    var options = { method: method, headers: {}, credentials: "same-origin", cache: "no-store" };
    if (method !== "GET") { options.headers["X-CSRF-Token"] = state.csrf; }
    if (background) { options.headers["X-Console-Background"] = "1"; }
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch("/console/api" + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 401 && path !== "/login") { showLogin(data && data.error); }
        if (!response.ok) { throw new ApiError(response.status, (data && data.error) || response.statusText); }
        return data;
      });
    });
  }

  function complain(node) {
    return function (error) { node.textContent = error && error.message ? error.message : String(error); };
  }

  // --- formatting --------------------------------------------------------------------------------
  function waited(since) {
    var seconds = Math.max(0, (Date.now() - new Date(since).getTime()) / 1000);
    if (seconds < 60) { return Math.floor(seconds) + " s"; }
    if (seconds < 3600) { return Math.floor(seconds / 60) + " min"; }
    return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
  }

  function seconds(value) {
    if (value === null || value === undefined) { return "–"; }
    return value < 60 ? Math.round(value) + " s" : Math.round(value / 60) + " min";
  }

  function time(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? "" : d.toLocaleString();
  }

  function languageName(code) { return code ? (LANGUAGE_NAMES[code] || code) + " (" + code + ")" : "?"; }

  // --- login ---------------------------------------------------------------------------------------
  // reason: why the server ended the session (idle, time limit, account changed), shown above the form
  function showLogin(reason) {
    var first = !!state.user || !$("login-notice").textContent;  // several requests may fail at once: the first says why
    stopLive();
    state.user = null;
    state.csrf = "";
    if (reason && reason !== "log in first" && first) { $("login-notice").textContent = reason; }
    show($("login-notice"), !!$("login-notice").textContent);
    show($("login-view"), true);
    show($("work-view"), false);
    show($("supervisor-view"), false);
    Object.keys(views).forEach(function (name) { show($(name + "-view"), false); });
    show($("nav"), false);
    $("login-username").focus();
  }

  function showApp(data) {
    state.user = data.user;
    state.csrf = data.csrf_token;
    $("whoami").textContent = data.user.username + " · " + data.user.role;
    $("login-notice").textContent = "";
    show($("login-view"), false);
    show($("nav"), true);
    var supervises = data.user.role === "supervisor" || data.user.role === "admin";
    show($("tab-supervisor"), supervises);
    show($("reassign-box"), supervises);
    Object.keys(views).forEach(function (name) { show($("tab-" + name), views[name].allowed(data.user)); });
    var keep = state.view === "supervisor" ? supervises : (views[state.view] && views[state.view].allowed(data.user));
    select(keep ? state.view : "queue");
    loadTeams();
    loadQueue();
    startLive();
    if (supervises) { loadStaff(); }
  }

  // --- teams (PUTOKAZ_TEAMS_FILE): names, the queue's team filter, moving a handoff to a team --------------
  function teamName(id) { return id ? (state.teams[id] ? state.teams[id].name : id) : "no team"; }

  function loadTeams() {
    return api("GET", "/teams").then(function (data) {
      state.teams = {};
      state.myTeam = data.mine;
      var filter = $("queue-team"), target = $("reassign-team"), chosen = filter.value;
      clear(filter);
      clear(target);
      [["", "My team first (" + (data.teams.filter(function (t) { return t.id === data.mine; })[0] || {}).name + ")"],
        ["mine", "My team only"], ["all", "All teams"]].forEach(function (pair) {
        var option = el("option", pair[1]);
        option.value = pair[0];
        filter.appendChild(option);
      });
      data.teams.forEach(function (t) {
        state.teams[t.id] = t;
        var option = el("option", t.name + (t.in_hours ? "" : " (closed now)"));
        option.value = t.id;
        target.appendChild(option.cloneNode(true));
        if (t.id !== data.mine) { filter.appendChild(option); }
      });
      filter.value = chosen;
      show($("queue-filter"), data.teams.length > 1);
      renderQueue();
    }).catch(function () {});
  }

  $("queue-team").addEventListener("change", function () { loadQueue(); });

  $("login-form").addEventListener("submit", function (event) {
    event.preventDefault();
    $("login-error").textContent = "";
    api("POST", "/login", { username: $("login-username").value, password: $("login-password").value })
      .then(function (data) { $("login-password").value = ""; showApp(data); })
      .catch(complain($("login-error")));
  });

  $("logout").addEventListener("click", function () {
    api("POST", "/logout").catch(function () { return null; }).then(function () {
      closeConversation();
      showLogin();
    });
  });

  // more views (admin.js: accounts, the audit log) register here: {allowed(user), load()}
  var views = {};

  function select(view) {
    state.view = view;
    show($("work-view"), view === "queue");
    show($("supervisor-view"), view === "supervisor");
    $("tab-queue").setAttribute("aria-pressed", String(view === "queue"));
    $("tab-supervisor").setAttribute("aria-pressed", String(view === "supervisor"));
    Object.keys(views).forEach(function (name) {
      show($(name + "-view"), view === name);
      $("tab-" + name).setAttribute("aria-pressed", String(view === name));
    });
    if (view === "supervisor") { loadOverview(); loadReport(); }
    if (views[view]) { views[view].load(); }
  }
  $("tab-queue").addEventListener("click", function () { select("queue"); });
  $("tab-supervisor").addEventListener("click", function () { select("supervisor"); });

  window.PutokazConsole = {
    api: api, el: el, clear: clear, show: show, time: time, complain: complain, languageName: languageName,
    state: state, teamName: teamName,
    addView: function (name, view) {
      views[name] = view;
      $("tab-" + name).addEventListener("click", function () { select(name); });
      if (state.user) { show($("tab-" + name), view.allowed(state.user)); }  // logged in before this script ran
    }
  };

  // --- live updates: server-sent events, else polling every 3 s -----------------------------------------
  function startLive() {
    stopLive();
    if (!window.EventSource) { startPolling(); return; }
    var source = new EventSource("/console/api/events");
    state.events = source;
    source.onopen = function () {
      stopPolling();
      setLive("live");
      loadQueue();  // whatever happened while we were not listening
    };
    source.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      onEvent(event);
    };
    source.onerror = function () {
      startPolling();  // the browser retries the stream; until it is back, poll
      if (source.readyState === EventSource.CLOSED) { state.events = null; }
    };
  }

  function stopLive() {
    if (state.events) { state.events.close(); state.events = null; }
    stopPolling();
    setLive("offline");
  }

  function startPolling() {
    if (state.polling || !state.user) { return; }
    setLive("polling");
    state.polling = window.setInterval(function () {
      loadQueue();
      if (state.current) { loadConversation(state.current); }
      if (state.view === "supervisor") { loadOverview(); }
    }, POLL_MS);
  }

  function stopPolling() {
    if (state.polling) { window.clearInterval(state.polling); state.polling = null; }
  }

  function setLive(mode) {
    $("live").textContent = mode;
    $("live").className = "live " + mode;
    document.body.setAttribute("data-live", mode);
  }

  function onEvent(event) {
    var type = event.type || "";
    if (type === "session.ended") { showLogin(event.reason || "your session has ended; log in again"); return; }
    if (type.indexOf("handoff.") === 0 || type === "conversation.erased") {
      scheduleQueue();
      if (state.view === "supervisor") { loadOverview(); }
      var id = event.handoff && event.handoff.id;
      if (state.current && id === state.current) { loadConversation(state.current); }
    } else if ((type === "message" || type === "note") && event.handoff_id === state.current) {
      loadConversation(state.current);
    }
  }

  function scheduleQueue() {
    if (state.refreshTimer) { return; }
    state.refreshTimer = window.setTimeout(function () { state.refreshTimer = null; loadQueue(); }, 100);
  }

  // --- the queue ------------------------------------------------------------------------------------
  function loadQueue() {
    if (!state.user) { return; }
    var team = $("queue-team").value;
    api("GET", "/queue" + (team ? "?team=" + encodeURIComponent(team) : ""), undefined, true)
      .then(function (items) { state.queue = items; renderQueue(); }).catch(function () {});
  }

  function renderQueue() {
    var list = $("queue");
    clear(list);
    var waiting = 0;
    state.queue.forEach(function (item) {
      if (item.status === "waiting") { waiting += 1; }
      list.appendChild(queueItem(item));
    });
    $("queue-count").textContent = String(waiting);
    show($("queue-empty"), state.queue.length === 0);
  }

  function queueItem(item) {
    var li = el("li", null, "ticket " + item.priority + " " + item.status + (item.id === state.current ? " current" : ""));
    li.setAttribute("data-handoff-id", String(item.id));
    li.setAttribute("data-status", item.status);
    var head = el("div", null, "line");
    head.appendChild(el("span", item.priority === "urgent" ? "URGENT" : "normal", "priority"));
    head.appendChild(el("span", waited(item.waiting_since), "waited"));
    head.appendChild(el("span", languageName(item.language), "language"));
    head.appendChild(el("span", item.city || "place unknown", "place"));
    head.appendChild(el("span", item.channel, "channel"));
    head.appendChild(el("span", teamName(item.team), "team" + (item.team === state.myTeam ? " mine" : "")));
    li.setAttribute("data-team", item.team || "");
    li.appendChild(head);
    var more = el("div", null, "line small");
    more.appendChild(el("span", "reason: " + item.reason, "reason"));
    if (item.category) { more.appendChild(el("span", "needs: " + item.category, "category")); }
    if (item.interpreter_needed) { more.appendChild(el("span", "interpreter needed", "flag interpreter")); }
    if (item.minor) { more.appendChild(el("span", "minor", "flag minor")); }
    more.appendChild(el("span", item.status === "assigned" ? "with " + item.assignee : "waiting", "status"));
    li.appendChild(more);
    var buttons = el("div", null, "line buttons");
    var open = el("button", "Open", "open");
    open.type = "button";
    open.addEventListener("click", function () { openConversation(item.id); });
    buttons.appendChild(open);
    if (item.status === "waiting") {
      var claimButton = el("button", "Claim", "claim");
      claimButton.type = "button";
      claimButton.addEventListener("click", function () { claim(item.id); });
      buttons.appendChild(claimButton);
    }
    li.appendChild(buttons);
    return li;
  }

  window.setInterval(function () { if (state.user && state.view === "queue") { renderQueue(); } }, 15000);

  function claim(id) {
    $("conversation-error").textContent = "";
    return api("POST", "/handoffs/" + id + "/claim").then(function () {
      loadQueue();
      openConversation(id);
    }).catch(function (error) {
      loadQueue();
      openConversation(id).then(function () { complain($("conversation-error"))(error); });
    });
  }

  // --- one conversation -------------------------------------------------------------------------------
  function openConversation(id) {
    var changed = state.current !== id;
    state.current = id;
    show($("conversation-panel"), true);
    $("conversation-error").textContent = "";
    if (changed) {
      $("phone").textContent = "";
      clear($("services"));
      clear($("transcript"));
    }
    renderQueue();
    return loadConversation(id, changed, true);
  }

  function closeConversation() {
    state.current = null;
    state.detail = null;
    show($("conversation-panel"), false);
  }

  // opened: the person opened it (a read the audit log records each time); else the page refreshes it
  function loadConversation(id, fresh, opened) {
    return api("GET", "/handoffs/" + id, undefined, !opened).then(function (data) {
      if (state.current !== id) { return; }
      var languageChanged = !state.detail || state.detail.conversation.language !== data.conversation.language;
      state.detail = data;
      renderConversation(data);
      if (fresh || languageChanged) {
        loadQuickReplies(data.conversation);
        presetServiceForm(data.understood);
      }
    }).catch(function (error) {
      if (error.status === 404) { closeConversation(); }
      complain($("conversation-error"))(error);
    });
  }

  function renderConversation(data) {
    var h = data.handoff, c = data.conversation, me = state.user.username;
    $("conversation-title").textContent = "Handoff " + h.id + " · " + h.status + (h.assignee ? " · " + h.assignee : "");
    var facts = $("ticket-facts");
    clear(facts);
    [h.priority === "urgent" ? "URGENT" : "normal", "waiting since " + time(h.waiting_since),
      languageName(c.language), c.channel, "team: " + teamName(h.team),
      h.interpreter ? "interpreter: " + h.interpreter : null,
      c.channel === "whatsapp" && !c.window_open ? "WhatsApp 24-hour window closed" : null]
      .forEach(function (fact) { if (fact) { facts.appendChild(el("span", fact, "fact")); } });

    var understood = $("understood");
    clear(understood);
    [["Need", data.understood.category], ["Place", data.understood.city], ["Language", languageName(data.understood.language)],
      ["Reason", data.understood.reason], ["Minor", data.understood.minor ? "yes" : "no"]].forEach(function (pair) {
      understood.appendChild(el("dt", pair[0]));
      understood.appendChild(el("dd", pair[1] || "–"));
    });

    var transcript = $("transcript");
    var rtl = !!RTL[c.language];
    transcript.dir = rtl ? "rtl" : "ltr";
    transcript.lang = c.language || "";
    var follow = !transcript.firstChild ||
      transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 60;
    clear(transcript);
    data.transcript.forEach(function (m) { transcript.appendChild(messageNode(m)); });
    if (follow) { transcript.scrollTop = transcript.scrollHeight; }

    var open = h.status === "waiting" || h.status === "assigned";
    var mine = h.assignee === me || h.interpreter === me;
    var supervises = state.user.role !== "counsellor";
    $("claim").hidden = h.status !== "waiting";
    $("join").hidden = !open || h.interpreter === me || h.assignee === me;
    $("release").hidden = !(h.status === "assigned" && (h.assignee === me || supervises));
    $("reveal-phone").hidden = !(mine || supervises);
    var canSpeak = open && (h.status === "assigned" && (h.assignee === me || supervises) || h.interpreter === me);
    $("reply-text").disabled = !canSpeak;
    $("reply-send").disabled = !canSpeak;
    $("service-search").disabled = false;
    Array.prototype.forEach.call(document.querySelectorAll("#services button, #quick-replies button"),
      function (b) { b.disabled = !canSpeak; });
    $("close").disabled = !(open && (h.assignee === me || supervises));
    $("reassign").disabled = !open;
    $("reassign-team-send").disabled = !open;
    if (h.team) { $("reassign-team").value = h.team; }

    var notes = $("notes");
    clear(notes);
    data.notes.forEach(function (n) {
      var li = el("li", null, "note");
      li.appendChild(el("span", n.author + " · " + time(n.at), "meta"));
      var body = el("p", n.text, "text");
      body.dir = "auto";
      li.appendChild(body);
      notes.appendChild(li);
    });

    var events = $("events");
    clear(events);
    data.events.forEach(function (e) {
      events.appendChild(el("li", time(e.at) + " · " + e.event + " · " + e.actor + (e.to ? " → " + e.to : "")));
    });
    data.referrals.forEach(function (r) {
      events.appendChild(el("li", time(r.at) + " · service sent: " + r.service_id + " · " + r.counsellor, "referral"));
    });
  }

  function messageNode(m) {
    var div = el("div", null, "msg " + m.author);
    div.setAttribute("data-author", m.author);
    div.setAttribute("data-message-id", String(m.id));
    var who = m.author === "counsellor" ? (m.author_name || "counsellor") : m.author;
    var meta = el("div", who + " · " + time(m.at) + (m.delivery === "not delivered" ? " · ⚠ not delivered" +
      (m.delivery_error ? " (" + m.delivery_error + ")" : "") : m.delivery === "pending" ? " · sending…" :
      m.delivery === "held" ? " · waiting: goes out when the person writes again (WhatsApp 24-hour window)" : ""),
      "meta");
    meta.dir = "ltr";
    div.appendChild(meta);
    var body = el("div", m.kind === "location" ? "📍 location shared" : m.text, "text");
    body.dir = "auto";
    div.appendChild(body);
    var buttons = (m.data && m.data.buttons) || [];
    if (buttons.length) {
      var row = el("div", null, "buttons");
      buttons.forEach(function (b) { var s = el("span", b.title, "button-title"); s.dir = "auto"; row.appendChild(s); });
      div.appendChild(row);
    }
    return div;
  }

  $("claim").addEventListener("click", function () { if (state.current) { claim(state.current); } });

  function act(path, body, after) {
    var id = state.current;
    $("conversation-error").textContent = "";
    return api("POST", "/handoffs/" + id + path, body).then(function (data) {
      if (after) { after(data); }
      loadQueue();
      return loadConversation(id);
    }).catch(complain($("conversation-error")));
  }

  $("join").addEventListener("click", function () { act("/join"); });
  $("release").addEventListener("click", function () { act("/release"); });

  $("reveal-phone").addEventListener("click", function () {
    act("/reveal-phone", undefined, function (data) { $("phone").textContent = data.channel + ": " + data.address; });
  });

  $("reply-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("reply-text").value;
    if (!text.trim()) { return; }
    act("/messages", { text: text }, function () { $("reply-text").value = ""; });
  });

  $("reply-text").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("reply-form").requestSubmit();
    }
  });

  $("note-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = $("note-text").value;
    if (!text.trim()) { return; }
    act("/notes", { text: text }, function () { $("note-text").value = ""; });
  });

  $("close-form").addEventListener("submit", function (event) {
    event.preventDefault();
    act("/close", { outcome: $("close-outcome").value });
  });

  $("reassign-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if ($("reassign-to").value) { act("/reassign", { to: $("reassign-to").value }); }
  });

  $("reassign-team-form").addEventListener("submit", function (event) {
    event.preventDefault();
    if ($("reassign-team").value) { act("/team", { team: $("reassign-team").value }); }
  });

  function loadStaff() {
    api("GET", "/staff").then(function (people) {
      var box = $("reassign-to");
      clear(box);
      people.forEach(function (p) {
        var option = el("option", p.username + " (" + p.role + (p.languages.length ? ", " + p.languages.join(",") : "") + ")");
        option.value = p.username;
        box.appendChild(option);
      });
    }).catch(function () {});
  }

  // --- quick replies and service cards ------------------------------------------------------------------
  function loadQuickReplies(conversation) {
    var box = $("quick-replies");
    clear(box);
    var query = "?language=" + encodeURIComponent(conversation.language || "en") +
      (conversation.script ? "&script=" + encodeURIComponent(conversation.script) : "");
    api("GET", "/quick-replies" + query).then(function (replies) {
      clear(box);
      replies.forEach(function (r) {
        var button = el("button", r.text, "quick");
        button.type = "button";
        button.dir = "auto";
        button.title = r.label;
        button.setAttribute("data-name", r.name);
        button.disabled = $("reply-send").disabled;
        button.addEventListener("click", function () { act("/messages", { text: r.text }); });
        box.appendChild(button);
      });
    }).catch(function () {});
  }

  function fillSelect(node, values, blank) {
    clear(node);
    var none = el("option", blank);
    none.value = "";
    node.appendChild(none);
    values.forEach(function (v) { var o = el("option", v); o.value = v; node.appendChild(o); });
  }
  fillSelect($("service-category"), CATEGORIES, "any need");
  fillSelect($("service-city"), PLACES, "any place");

  function presetServiceForm(understood) {
    $("service-category").value = CATEGORIES.indexOf(understood.category) >= 0 ? understood.category : "";
    $("service-city").value = PLACES.indexOf(understood.city) >= 0 ? understood.city : "";
  }

  $("service-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var language = (state.detail && state.detail.conversation.language) || "en";
    var query = "?category=" + encodeURIComponent($("service-category").value) +
      "&city=" + encodeURIComponent($("service-city").value) + "&language=en";
    var list = $("services");
    clear(list);
    api("GET", "/services" + query).then(function (found) {
      if (!found.length) { list.appendChild(el("li", "Nothing found.", "muted")); }
      found.forEach(function (s) {
        var li = el("li", null, "service");
        li.setAttribute("data-service-id", s.id);
        li.appendChild(el("span", s.name, "name"));
        li.appendChild(el("span", s.city + " · " + s.categories.join(", ") +
          (s.temporarily_closed ? " · temporarily closed" : ""), "meta"));
        var send = el("button", "Send in " + languageName(language), "send-service");
        send.type = "button";
        send.disabled = $("reply-send").disabled;
        send.addEventListener("click", function () { act("/service", { service_id: s.id }); });
        li.appendChild(send);
        list.appendChild(li);
      });
    }).catch(complain($("conversation-error")));
  });

  // --- the supervisor view ----------------------------------------------------------------------------------
  function loadOverview() {
    api("GET", "/overview", undefined, true).then(renderOverview).catch(function () {});
  }

  function table(node, rows, columns) {
    clear(node);
    var head = el("tr");
    columns.forEach(function (c) { head.appendChild(el("th", c[0])); });
    node.appendChild(head);
    rows.forEach(function (row) {
      var tr = el("tr");
      columns.forEach(function (c) { tr.appendChild(el("td", c[1](row))); });
      node.appendChild(tr);
    });
  }

  function renderOverview(data) {
    $("overview-waiting").textContent = String(data.queue_length);
    $("overview-open").textContent = String(data.open);
    var columns = [["", function (r) { return r.name || "(no team)"; }], ["waiting", function (r) { return r.waiting; }],
      ["assigned", function (r) { return r.assigned; }], ["urgent", function (r) { return r.urgent; }],
      ["longest wait", function (r) { return seconds(r.longest_wait_seconds); }],
      ["median wait", function (r) { return seconds(r.median_wait_seconds); }]];
    table($("overview-languages"), data.by_language, columns);
    table($("overview-teams"), data.by_team, [["", function (r) {
      return (r.label || r.name) + (r.in_hours === false ? " (closed now)" : "") + " · " + r.online + " online";
    }]].concat(columns.slice(1)));
    table($("overview-team-languages"), data.by_team_language, columns);
    var online = $("overview-online");
    clear(online);
    if (!data.online.length) { online.appendChild(el("li", "nobody", "muted")); }
    data.online.forEach(function (p) {
      online.appendChild(el("li", p.username + " · " + p.role + (p.team ? " · " + p.team : "") +
        (p.languages.length ? " · " + p.languages.join(",") : "") + " · " + p.assigned + " open"));
    });
  }

  function reportQuery() {
    if (!$("report-from").value || !$("report-to").value) { return ""; }  // the server's last 30 days
    return "?from=" + encodeURIComponent($("report-from").value) + "&to=" + encodeURIComponent($("report-to").value);
  }

  function csvLink() {
    var query = reportQuery();
    $("report-csv").href = "/console/api/report" + (query ? query + "&" : "?") + "format=csv";
  }

  function loadReport() {
    $("report-error").textContent = "";
    csvLink();
    api("GET", "/report" + reportQuery()).then(function (data) {
      $("report-from").value = data.from;  // Belgrade days, as the server counts them
      $("report-to").value = data.to;
      csvLink();
      renderReport(data);
    }).catch(complain($("report-error")));
  }

  $("report-form").addEventListener("submit", function (event) { event.preventDefault(); loadReport(); });
  $("report-from").addEventListener("change", csvLink);
  $("report-to").addEventListener("change", csvLink);

  function bars(title, counts) {
    var box = el("figure", null, "chart");
    box.appendChild(el("figcaption", title));
    var keys = Object.keys(counts);
    if (!keys.length) { box.appendChild(el("p", "none", "muted")); return box; }
    var max = Math.max.apply(null, keys.map(function (k) { return counts[k]; }));
    keys.forEach(function (k) {
      var row = el("div", null, "bar-row");
      row.appendChild(el("span", k, "bar-label"));
      var track = el("span", null, "bar-track");
      var bar = el("span", null, "bar");
      bar.style.width = (max ? Math.round(100 * counts[k] / max) : 0) + "%";  // CSSOM: allowed by the CSP
      track.appendChild(bar);
      row.appendChild(track);
      row.appendChild(el("span", String(counts[k]), "bar-value"));
      box.appendChild(row);
    });
    return box;
  }

  function renderReport(data) {
    var box = $("report");
    clear(box);
    var summary = el("p", null, "summary");
    summary.textContent = data.from + " – " + data.to + ": " + data.handoffs.count + " handoffs, " +
      data.referrals.count + " referrals, median time to first human reply " + seconds(data.first_reply.median_seconds) +
      " (" + data.first_reply.answered + " answered), " + data.minors.count + " minors, " +
      data.unmet_needs.count + " unmet needs.";
    box.appendChild(summary);
    var grid = el("div", null, "charts");
    [["Handoffs by reason", data.handoffs.by_reason], ["Handoffs by priority", data.handoffs.by_priority],
      ["Handoffs by language", data.handoffs.by_language], ["Handoffs by place", data.handoffs.by_place],
      ["Handoffs by channel", data.handoffs.by_channel], ["Outcomes", data.handoffs.by_outcome],
      ["Referrals by category", data.referrals.by_category], ["Referrals by place", data.referrals.by_place],
      ["Referrals by language", data.referrals.by_language], ["Unmet needs by category", data.unmet_needs.by_category],
      ["Unmet needs by place", data.unmet_needs.by_place], ["Unmet needs by language", data.unmet_needs.by_language],
      ["Minors by place", data.minors.by_place]].forEach(function (pair) { grid.appendChild(bars(pair[0], pair[1])); });
    box.appendChild(grid);
  }

  // --- start ------------------------------------------------------------------------------------------------
  api("GET", "/me").then(showApp).catch(function () { showLogin(); });
}());
