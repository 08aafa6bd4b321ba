/* Number formatting for every TickStock grid (components/grid_columns.py).
 *
 * Column definitions reference these by name, e.g.
 * {"valueFormatter": {"function": "fmtNum(params.value, 1, 'pct', true)"}};
 * dash-ag-grid's own expression parser evaluates them, so the app's CSP
 * (no 'unsafe-eval') holds. A value that rounds to zero shows as an unsigned
 * zero ("0.0", "0.0%"), never "-0.0".
 */
(function () {
  "use strict";

  var funcs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});
  var SCALE = { num: 1, int: 1, pct: 100, pp: 1 };

  function present(value) {
    return value !== null && value !== undefined && value !== "" &&
      !(typeof value === "number" && isNaN(value));
  }

  /* The number shown, rounded to `decimals` (scaled for 'pct'); 0 never signed. */
  function rounded(value, decimals, kind) {
    var x = Number(value) * (SCALE[kind] || 1);
    if (!isFinite(x)) { return x; }
    var d = kind === "int" ? 0 : decimals;
    var r = Number(x.toFixed(d));
    return r === 0 ? 0 : r;  // maps -0 and tiny negatives to +0
  }

  /* Format a number: kind 'num' (grouped), 'int', 'pct' (fraction -> %), 'pp'
     (already in percent -> %); `signed` puts a '+' on positives. */
  funcs.fmtNum = function (value, decimals, kind, signed) {
    if (!present(value)) { return ""; }
    kind = kind || "num";
    var d = kind === "int" ? 0 : (decimals === undefined ? 1 : decimals);
    var r = rounded(value, d, kind);
    if (!isFinite(r)) { return String(value); }
    var text = Math.abs(r).toLocaleString("en-US", {
      minimumFractionDigits: d,
      maximumFractionDigits: d
    });
    var sign = r < 0 ? "-" : (signed && r > 0 ? "+" : "");
    var unit = kind === "pct" || kind === "pp" ? "%" : "";
    return sign + text + unit;
  };

  /* -1, 0 or 1: the sign of the value as shown (for the sign colours). */
  funcs.shownSign = function (value, decimals, kind) {
    if (!present(value)) { return 0; }
    var r = rounded(value, decimals === undefined ? 1 : decimals, kind || "num");
    return r > 0 ? 1 : (r < 0 ? -1 : 0);
  };

  /* Rank change: '▲ 3' up, '▼ 2' down, '–' unchanged. */
  funcs.fmtArrow = function (value) {
    if (!present(value)) { return ""; }
    var n = Math.round(Number(value));
    return n > 0 ? "\u25b2 " + n : (n < 0 ? "\u25bc " + (-n) : "\u2013");
  };
})();
