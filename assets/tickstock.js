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
    replaceQuery(params);
    return noUpdate();
  }

  /* Replace the query string (":" and "," stay readable) without a reload. */
  function replaceQuery(params) {
    var qs = params.toString().replace(/%3A/gi, ":").replace(/%2C/gi, ",");
    var url = window.location.pathname + (qs ? "?" + qs : "") + window.location.hash;
    var current = window.location.pathname + window.location.search + window.location.hash;
    if (url !== current) {
      window.history.replaceState(window.history.state, "", url);
    }
  }

  /* Filter model -> "col:value" / "col:>=80" entries (components/grid_state.py). */
  var NUMBER_OPS = {
    greaterThanOrEqual: ">=", lessThanOrEqual: "<=", notEqual: "!=",
    greaterThan: ">", lessThan: "<", equals: "="
  };
  var TEXT_OPS = { notEqual: "!=", equals: "=", startsWith: "^", contains: "" };

  function encodeCondition(col, cond) {
    if (!cond) { return []; }
    if (cond.type === "inRange") {
      return [col + ":>=" + cond.filter, col + ":<=" + cond.filterTo];
    }
    var ops = cond.filterType === "number" ? NUMBER_OPS : TEXT_OPS;
    var op = ops[cond.type];
    if (op === undefined || cond.filter === null || cond.filter === undefined ||
        cond.filter === "") { return []; }
    return [col + ":" + op + cond.filter];
  }

  function encodeFilters(model) {
    var out = [];
    Object.keys(model || {}).forEach(function (col) {
      var entry = model[col];
      if (entry && entry.conditions) {
        if (String(entry.operator || "AND").toUpperCase() !== "AND") { return; }
        entry.conditions.forEach(function (c) { out = out.concat(encodeCondition(col, c)); });
      } else {
        out = out.concat(encodeCondition(col, entry));
      }
    });
    return out;
  }

  /* Write a grid's sort, filters and visible columns into the query string. */
  function syncGridUrl(keys, defaults, state, model) {
    var params = new URLSearchParams(window.location.search);
    function put(key, value, dflt) {
      if (!value || value === dflt) { params.delete(key); } else { params.set(key, value); }
    }
    if (state && state.length) {
      var sorted = state.filter(function (s) { return s.sort; });
      sorted.sort(function (a, b) { return (a.sortIndex || 0) - (b.sortIndex || 0); });
      put(keys[0], sorted.map(function (s) { return s.colId + ":" + s.sort; }).join(","),
          defaults.sort);
      var shown = state.filter(function (s) { return !s.hide; })
        .map(function (s) { return s.colId; });
      var same = shown.slice().sort().join(",") ===
        String(defaults.cols).split(",").sort().join(",");
      put(keys[2], same ? "" : shown.join(","), "");
    }
    if (model) {
      params.delete(keys[1]);
      encodeFilters(model).forEach(function (v) { params.append(keys[1], v); });
    }
    replaceQuery(params);
    return noUpdate();
  }

  function symbolPath(symbol) {
    if (!symbol) { return noUpdate(); }
    return "/symbol/" + encodeURIComponent(String(symbol));
  }

  /* [pathname, search] of a symbol's page: only the view's universe and as-of
     travel along, never another page's filters, sort or selection. */
  function symbolLink(symbol) {
    if (!symbol) { return [noUpdate(), noUpdate()]; }
    var here = new URLSearchParams(window.location.search);
    var keep = new URLSearchParams();
    ["universe", "as_of"].forEach(function (k) {
      if (here.get(k)) { keep.set(k, here.get(k)); }
    });
    var qs = keep.toString();
    return [symbolPath(symbol), qs ? "?" + qs : ""];
  }

  // Extend in place: Dash and other assets keep references to this object.
  window.dash_clientside = window.dash_clientside || {};
  Object.assign(window.dash_clientside, {
    tickstock: {
      syncUrl: syncUrl,
      syncGridUrl: syncGridUrl,
      encodeFilters: encodeFilters,
      /* "N of M rows shown": rows after the grid's filters / all rows. */
      gridCount: function (virtual, rows) {
        if (!rows) { return ""; }
        var n = virtual ? virtual.length : rows.length;
        return n.toLocaleString("en-US") + " of " +
          rows.length.toLocaleString("en-US") + " rows shown";
      },
      /* Grid cell click -> symbol page (rows are keyed by symbol). */
      gridToSymbol: function (cell) {
        return symbolLink(cell && cell.rowId);
      },
      symbolLink: symbolLink,
      /* Plotly click whose point carries the symbol in customdata[0]. */
      plotToSymbol: function (click) {
        if (!click || !click.points || !click.points.length) {
          return [noUpdate(), noUpdate()];
        }
        var data = click.points[0].customdata;
        var sym = Array.isArray(data) ? data[0] : data;
        return symbolLink(sym);
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
