// The console's Accounts page (admins) and audit log (supervisors and admins), on top of console.js.
// Everything shown is put in the page with textContent: never as HTML.
(function () {
  "use strict";

  var C = window.PutokazConsole;
  var ROLES = ["counsellor", "supervisor", "admin"];
  var LANGUAGES = ["en", "ar", "fa", "ps", "sr"];
  var MIN_PASSWORD = 12;  // the server checks it too (bot/console/accounts.py)
  var el = C.el, clear = C.clear, show = C.show;
  var accounts = [], editing = null, teams = [];

  function $(id) { return document.getElementById(id); }

  function fillRoles(select) {
    clear(select);
    ROLES.forEach(function (role) { var o = el("option", role); o.value = role; select.appendChild(o); });
  }

  function fillLanguages(box, name) {
    Array.prototype.slice.call(box.querySelectorAll("label")).forEach(function (n) { box.removeChild(n); });
    LANGUAGES.forEach(function (code) {
      var label = el("label", null, "language");
      var box1 = el("input");
      box1.type = "checkbox";
      box1.name = name;
      box1.value = code;
      label.appendChild(box1);
      label.appendChild(document.createTextNode(" " + C.languageName(code)));
      box.appendChild(label);
    });
  }

  function fillTeams(select) {
    var chosen = select.value;
    clear(select);
    var none = el("option", "the default team");
    none.value = "";
    select.appendChild(none);
    teams.forEach(function (t) { var o = el("option", t.name + " (" + t.id + ")"); o.value = t.id; select.appendChild(o); });
    select.value = chosen;
  }

  function checked(box) {
    return Array.prototype.slice.call(box.querySelectorAll("input:checked")).map(function (i) { return i.value; });
  }

  function check(box, codes) {
    Array.prototype.forEach.call(box.querySelectorAll("input"), function (i) { i.checked = codes.indexOf(i.value) >= 0; });
  }

  function passwordProblem(password, again) {
    if (password.length < MIN_PASSWORD) { return "the password must have at least " + MIN_PASSWORD + " characters"; }
    if (password !== again) { return "the two passwords differ"; }
    return "";
  }

  fillRoles($("new-role"));
  fillRoles($("edit-role"));
  fillLanguages($("new-languages"), "new-language");
  fillLanguages($("edit-languages"), "edit-language");

  // --- accounts ------------------------------------------------------------------------------------------
  function loadAccounts() {
    $("accounts-error").textContent = "";
    C.api("GET", "/teams", undefined, true).then(function (data) {
      teams = data.teams || [];
      fillTeams($("new-team"));
      fillTeams($("edit-team"));
    }).catch(function () {});
    return C.api("GET", "/admin/accounts").then(function (list) {
      accounts = list;
      renderAccounts();
      if (editing) { edit(editing, true); }
    }).catch(C.complain($("accounts-error")));
  }

  function renderAccounts() {
    var table = $("accounts");
    clear(table);
    var head = el("tr");
    ["User", "Role", "Languages", "Team", "Status", "Last login", ""].forEach(function (h) { head.appendChild(el("th", h)); });
    table.appendChild(head);
    accounts.forEach(function (a) {
      var tr = el("tr", null, a.active ? "active" : "inactive");
      tr.setAttribute("data-username", a.username);
      tr.appendChild(el("td", a.username, "username"));
      tr.appendChild(el("td", a.role, "role"));
      tr.appendChild(el("td", a.languages.join(", ") || "–", "languages"));
      tr.appendChild(el("td", C.teamName(a.team), "team"));
      tr.appendChild(el("td", a.active ? "active" : "deactivated", "status"));
      tr.appendChild(el("td", a.last_login_at ? C.time(a.last_login_at) : "never", "last-login"));
      var cell = el("td", null, "row-actions");
      var change = el("button", "Change", "edit");
      change.type = "button";
      change.addEventListener("click", function () { edit(a.username); });
      cell.appendChild(change);
      var toggle = el("button", a.active ? "Deactivate" : "Reactivate", a.active ? "deactivate" : "reactivate");
      toggle.type = "button";
      toggle.addEventListener("click", function () { setActive(a.username, !a.active); });
      cell.appendChild(toggle);
      tr.appendChild(cell);
      table.appendChild(tr);
    });
  }

  function setActive(username, active) {
    $("accounts-error").textContent = "";
    var path = "/admin/accounts/" + encodeURIComponent(username) + (active ? "/reactivate" : "/deactivate");
    C.api("POST", path).then(loadAccounts).catch(C.complain($("accounts-error")));
  }

  function edit(username, keepMessages) {
    var account = accounts.filter(function (a) { return a.username === username; })[0];
    if (!account) { editing = null; show($("account-edit"), false); return; }
    editing = username;
    if (!keepMessages) { $("account-edit-error").textContent = ""; $("account-edit-done").textContent = ""; }
    $("account-edit-name").textContent = username;
    $("edit-role").value = account.role;
    check($("edit-languages"), account.languages);
    $("edit-team").value = account.team || "";
    $("reset-password").value = "";
    $("reset-password-again").value = "";
    show($("account-edit"), true);
  }

  function done(message) {
    return function () { $("account-edit-done").textContent = message; return loadAccounts(); };
  }

  $("account-edit-form").addEventListener("submit", function (event) {
    event.preventDefault();
    $("account-edit-error").textContent = "";
    $("account-edit-done").textContent = "";
    var body = { role: $("edit-role").value, languages: checked($("edit-languages")), team: $("edit-team").value || null };
    C.api("POST", "/admin/accounts/" + encodeURIComponent(editing), body)
      .then(done("Saved.")).catch(C.complain($("account-edit-error")));
  });

  $("reset-form").addEventListener("submit", function (event) {
    event.preventDefault();
    $("account-edit-error").textContent = "";
    $("account-edit-done").textContent = "";
    var password = $("reset-password").value, again = $("reset-password-again").value;
    var problem = passwordProblem(password, again);
    if (problem) { $("account-edit-error").textContent = problem; return; }
    C.api("POST", "/admin/accounts/" + encodeURIComponent(editing) + "/password", { password: password, password_again: again })
      .then(done("The new password is set; the person was logged out.")).catch(C.complain($("account-edit-error")));
  });

  $("account-new-form").addEventListener("submit", function (event) {
    event.preventDefault();
    $("account-new-error").textContent = "";
    var password = $("new-password").value, again = $("new-password-again").value;
    var problem = passwordProblem(password, again);
    if (problem) { $("account-new-error").textContent = problem; return; }
    C.api("POST", "/admin/accounts", {
      username: $("new-username").value.trim(), password: password, password_again: again,
      role: $("new-role").value, languages: checked($("new-languages")), team: $("new-team").value || null
    }).then(function () {
      $("account-new-form").reset();
      return loadAccounts();
    }).catch(C.complain($("account-new-error")));
  });

  C.addView("accounts", {
    allowed: function (user) { return user.role === "admin"; },
    load: loadAccounts
  });

  // --- the audit log -------------------------------------------------------------------------------------
  function auditQuery() {
    var parts = [];
    if ($("audit-action").value) { parts.push("action=" + encodeURIComponent($("audit-action").value)); }
    if ($("audit-user").value.trim()) { parts.push("user=" + encodeURIComponent($("audit-user").value.trim())); }
    return parts.join("&");
  }

  function csvLink() {
    var query = auditQuery();
    $("audit-csv").href = "/console/api/audit?" + (query ? query + "&" : "") + "format=csv";
  }

  function loadActions() {
    C.api("GET", "/audit/actions", undefined, true).then(function (names) {
      var select = $("audit-action"), chosen = select.value;
      clear(select);
      var all = el("option", "every action");
      all.value = "";
      select.appendChild(all);
      names.forEach(function (n) { var o = el("option", n); o.value = n; select.appendChild(o); });
      select.value = chosen;
    }).catch(function () {});
  }

  function detailText(detail) {
    if (!detail) { return ""; }
    return Object.keys(detail).map(function (k) {
      var v = detail[k];
      return k + ": " + (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));
    }).join(" · ");
  }

  function loadAudit() {
    $("audit-error").textContent = "";
    csvLink();
    var query = auditQuery();
    return C.api("GET", "/audit" + (query ? "?" + query : "")).then(function (rows) {
      var table = $("audit");
      clear(table);
      var head = el("tr");
      ["When", "Who", "Action", "On", "Detail"].forEach(function (h) { head.appendChild(el("th", h)); });
      table.appendChild(head);
      rows.forEach(function (r) {
        var tr = el("tr");
        tr.setAttribute("data-action", r.action);
        tr.appendChild(el("td", C.time(r.at), "at"));
        tr.appendChild(el("td", r.actor, "actor"));
        tr.appendChild(el("td", r.action, "action"));
        tr.appendChild(el("td", r.target || "", "target"));
        var detail = el("td", detailText(r.detail), "detail");
        detail.dir = "auto";
        tr.appendChild(detail);
        table.appendChild(tr);
      });
      if (!rows.length) { var none = el("tr"); none.appendChild(el("td", "Nothing recorded.", "muted")); table.appendChild(none); }
    }).catch(C.complain($("audit-error")));
  }

  $("audit-form").addEventListener("submit", function (event) { event.preventDefault(); loadAudit(); });
  $("audit-action").addEventListener("change", csvLink);
  $("audit-user").addEventListener("input", csvLink);

  C.addView("audit", {
    allowed: function (user) { return user.role === "supervisor" || user.role === "admin"; },
    load: function () { loadActions(); return loadAudit(); }
  });
}());
