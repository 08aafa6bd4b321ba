/* Keyboard shortcuts: "/" search, "g" + m/r/s/t/b go to a page, "?" help.
   components/shortcuts.py holds the help dialog and the same key table. */
(function () {
  "use strict";

  var GO = { m: "/", r: "/rankings", s: "/sectors", t: "/stages", b: "/breadth" };
  var KEEP = ["universe", "as_of"]; // carried over to the page opened
  var GO_WINDOW_MS = 1500;
  var pendingG = 0;

  function typing(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" ||
      target.isContentEditable;
  }

  function setProps(id, props) {
    var dc = window.dash_clientside;
    if (dc && typeof dc.set_props === "function") { dc.set_props(id, props); }
  }

  function openHelp(open) { setProps("shortcuts-modal", { is_open: open }); }

  function focusSearch() {
    var box = document.getElementById("nav-symbol-search");
    if (!box) { return; }
    var input = box.querySelector("input");
    if (input) { input.focus(); return; }
    box.click(); // Dash 4 dropdown: the trigger button opens a search popover
    var tries = 0;
    (function focusOpened() {
      var search = document.querySelector(".dash-dropdown-content .dash-dropdown-search") ||
        document.querySelector(".dash-dropdown-search");
      if (search) { search.focus(); return; }
      if (tries++ < 20) { window.setTimeout(focusOpened, 25); }
    })();
  }

  function go(path) {
    var now = new URLSearchParams(window.location.search);
    var next = new URLSearchParams();
    KEEP.forEach(function (k) { if (now.get(k)) { next.set(k, now.get(k)); } });
    var qs = next.toString();
    setProps("nav-location", { pathname: path, search: qs ? "?" + qs : "" });
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) { return; }
    var key = ev.key;
    if (pendingG && Date.now() - pendingG < GO_WINDOW_MS && GO[key]) {
      pendingG = 0;
      ev.preventDefault();
      go(GO[key]);
      return;
    }
    pendingG = 0;
    if (key === "g") { pendingG = Date.now(); return; }
    if (key === "/") { ev.preventDefault(); focusSearch(); return; }
    if (key === "?") { ev.preventDefault(); openHelp(true); }
  });

  document.addEventListener("click", function (ev) {
    var button = ev.target && ev.target.closest && ev.target.closest("#shortcuts-open");
    if (button) { openHelp(true); }
  });
})();
