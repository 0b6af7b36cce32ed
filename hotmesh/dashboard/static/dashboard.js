// hotmesh dashboard: live updates without a build step.
// One EventSource per page; on each "change" event the parts of the page marked
// data-live are fetched again (as HTML fragments) and swapped in when they differ.
// Parts marked data-poll are also refreshed on that period (roll calls are not events).
(function () {
  "use strict";
  var busy = false, again = false;

  function editing(el) {
    var active = document.activeElement;
    return active && el.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    var parts = Array.prototype.slice.call(document.querySelectorAll("[data-live]"));
    Promise.all(parts.map(function (el) {
      if (editing(el)) { return null; }
      return fetch(el.getAttribute("data-live"), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null && html !== el.getAttribute("data-html")) {
            el.innerHTML = html;
            el.setAttribute("data-html", html);
          }
        })
        .catch(function () { return null; });
    })).then(function () {
      busy = false;
      document.body.setAttribute("data-refreshed", String(Date.now()));
      if (again) { again = false; refresh(); }
    });
  }

  function connect() {
    var url = document.body.getAttribute("data-events");
    var dot = document.getElementById("live");
    if (!url || !window.EventSource || !document.querySelector("[data-live]")) { return; }
    var source = new EventSource(url);
    source.addEventListener("open", function () { if (dot) { dot.className = "live on"; } });
    source.addEventListener("error", function () { if (dot) { dot.className = "live off"; } });
    source.addEventListener("change", refresh);
  }

  function poll() {
    document.querySelectorAll("[data-poll]").forEach(function (el) {
      var every = parseInt(el.getAttribute("data-poll"), 10);
      if (every > 0) { window.setInterval(refresh, every); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { connect(); poll(); });
})();
