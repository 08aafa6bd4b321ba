// The navbar bell: how many of your fired alerts are unseen (/api/alerts/events).
(function () {
  "use strict";
  var POLL_MS = 15000;
  function refresh() {
    var badge = document.getElementById("nav-alerts-count");
    if (!badge || window.location.pathname.indexOf("/login") === 0) {
      return;
    }
    fetch("/api/alerts/events?limit=1", {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (reply) {
        return reply.ok ? reply.json() : null;
      })
      .then(function (body) {
        var unseen = body && body.unseen ? body.unseen : 0;
        badge.textContent = unseen ? String(unseen) : "";
        badge.title = unseen + " unseen fired alert(s)";
      })
      .catch(function () {}); // offline: keep the last count
  }
  window.tickstockAlertBell = refresh;
  window.addEventListener("load", function () {
    setTimeout(refresh, 1000);
    setInterval(refresh, POLL_MS);
  });
})();
