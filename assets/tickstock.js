/* TickStock clientside helpers: URL sync, navigation, theme mirroring. */
(function () {
  "use strict";

  function noUpdate() {
    return window.dash_clientside.no_update;
  }

  /* Write page controls into the query string without a page reload. */
  function syncUrl(names, defaults, args) {
    var params = new URLSearchParams(window.location.search);
    var asOf = null;
    var time = null;
    names.forEach(function (name, i) {
      var value = args[i];
      if (name === "_time") { time = value; return; }
      if (name === "as_of") { asOf = value; return; }
      if (value === null || value === undefined || value === "" ||
          String(value) === String(defaults[name])) {
        params.delete(name);
      } else {
        params.set(name, value);
      }
    });
    if (names.indexOf("as_of") >= 0) {
      var when = asOf || "now";
      if (when !== "now" && time && /^\d{2}:\d{2}/.test(time)) {
        when = when + "T" + String(time).slice(0, 5);
      }
      if (when === "now") { params.delete("as_of"); } else { params.set("as_of", when); }
    }
    var qs = params.toString();
    var url = window.location.pathname + (qs ? "?" + qs : "") + window.location.hash;
    var current = window.location.pathname + window.location.search + window.location.hash;
    if (url !== current) {
      window.history.replaceState(window.history.state, "", url);
    }
    return noUpdate();
  }

  function symbolPath(symbol) {
    if (!symbol) { return noUpdate(); }
    return "/symbol/" + encodeURIComponent(String(symbol));
  }

  // Extend in place: Dash and other assets keep references to this object.
  window.dash_clientside = window.dash_clientside || {};
  Object.assign(window.dash_clientside, {
    tickstock: {
      syncUrl: syncUrl,
      /* Grid cell click -> symbol page (rows are keyed by symbol). */
      gridToSymbol: function (cell) {
        if (!cell || !cell.rowId) { return noUpdate(); }
        return symbolPath(cell.rowId);
      },
      /* Plotly click whose point carries the symbol in customdata[0]. */
      plotToSymbol: function (click) {
        if (!click || !click.points || !click.points.length) { return noUpdate(); }
        var data = click.points[0].customdata;
        var sym = Array.isArray(data) ? data[0] : data;
        return sym ? symbolPath(sym) : noUpdate();
      },
      /* Show or hide grid columns from the column chooser. */
      chooseColumns: function (visible, gridId, all) {
        var api = window.dash_ag_grid && window.dash_ag_grid.getApi(gridId);
        if (!api) { return noUpdate(); }
        var show = visible || [];
        var hide = (all || []).filter(function (c) { return show.indexOf(c) < 0; });
        api.setColumnsVisible(hide, false);
        api.setColumnsVisible(show, true);
        return noUpdate();
      },
      quickFilter: function (text, options) {
        return Object.assign({}, options || {}, { quickFilterText: text || "" });
      },
      exportCsv: function (n) {
        return n ? true : noUpdate();
      },
      toggleTime: function (session) {
        return !session || session === "now";
      }
    }
  });

  /* AG Grid's theme follows data-ag-theme-mode; mirror Bootstrap's data-bs-theme. */
  function mirrorTheme() {
    var root = document.documentElement;
    var mode = root.getAttribute("data-bs-theme") === "dark" ? "dark" : "light";
    if (document.body && document.body.getAttribute("data-ag-theme-mode") !== mode) {
      document.body.setAttribute("data-ag-theme-mode", mode);
    }
  }
  new MutationObserver(mirrorTheme).observe(document.documentElement, {
    attributes: true,
    attributeFilter: ["data-bs-theme"]
  });
  document.addEventListener("DOMContentLoaded", mirrorTheme);
})();
