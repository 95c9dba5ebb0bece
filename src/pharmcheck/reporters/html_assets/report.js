"use strict";
(function () {
  // Everything from scanned sites is set with textContent / text nodes; never innerHTML.
  var PAGE = 100;
  var META = JSON.parse(document.getElementById("pc-meta").textContent);
  var SITES = [];
  var view = [];
  var state = { verdict: "", q: "", key: "", dir: 1, page: 0, open: -1 };
  var VRANK = { rogue: 0, suspicious: 1, error: 2, unreachable: 3, not_pharmacy: 4, legitimate: 5 };

  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (Object.prototype.hasOwnProperty.call(attrs, k) && attrs[k] !== null && attrs[k] !== undefined) {
          if (k === "text") { node.textContent = String(attrs[k]); } else { node.setAttribute(k, String(attrs[k])); }
        }
      }
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) { continue; }
      node.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function safeHref(url) {
    if (typeof url !== "string" || !/^https?:\/\//i.test(url)) { return null; }
    try { var u = new URL(url); return (u.protocol === "http:" || u.protocol === "https:") ? u.href : null; }
    catch (e) { return null; }
  }
  function link(url, label) {
    var href = safeHref(url);
    var text = label === undefined ? String(url || "") : String(label);
    if (!href) { return el("span", { "class": "mono", text: text }); }
    return el("a", { href: href, rel: "noopener noreferrer nofollow", target: "_blank",
                     referrerpolicy: "no-referrer", "class": "mono", text: text });
  }
  function vbadge(v) { return el("span", { "class": "verdict " + String(v).replace(/[^a-z_]/g, ""), text: v }); }
  function dash(x) { return x === null || x === undefined || x === "" ? "–" : String(x); }

  function decode(id) {
    var raw = document.getElementById(id).textContent.trim();
    var bin = atob(raw);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }

  function cmp(a, b) {
    var k = state.key, x = a[k], y = b[k];
    if (k === "v") { x = VRANK[x]; y = VRANK[y]; }
    if (k === "k") { x = (a.k[0] || ""); y = (b.k[0] || ""); }
    var xn = x === null || x === undefined, yn = y === null || y === undefined;
    if (xn || yn) { return xn === yn ? a._n - b._n : (xn ? 1 : -1); }
    if (x < y) { return -state.dir; }
    if (x > y) { return state.dir; }
    return a._n - b._n;
  }
  function refresh() {
    var q = state.q.toLowerCase();
    view = SITES.filter(function (s) {
      if (state.verdict && s.v !== state.verdict) { return false; }
      if (q && s._q.indexOf(q) < 0) { return false; }
      return true;
    });
    if (state.key) { view.sort(cmp); }
    var pages = Math.max(1, Math.ceil(view.length / PAGE));
    if (state.page >= pages) { state.page = pages - 1; }
    render();
  }
  function render() {
    var body = document.getElementById("rows");
    var frag = document.createDocumentFragment();
    var start = state.page * PAGE;
    var rows = view.slice(start, start + PAGE);
    rows.forEach(function (s) {
      var keys = el("td");
      s.k.forEach(function (k) { keys.appendChild(el("span", { "class": "key", title: k, text: k })); });
      var tr = el("tr", { "data-n": s._n, "data-verdict": s.v, tabindex: 0, "class": s._n === state.open ? "open" : null },
        el("td", null, el("span", { "class": "mono", text: s.d || s.i }),
           s.d && s.d !== s.i ? el("span", { "class": "key", text: s.i }) : null),
        el("td", null, vbadge(s.v)),
        el("td", { "class": "num", text: dash(s.s) }),
        el("td", { text: dash(s.ro) }),
        keys,
        el("td", { "class": "num", text: s.cc ? s.cv + " / " + s.cc : "–" }),
        el("td", { "class": "num", text: dash(s.age) }));
      frag.appendChild(tr);
    });
    if (!rows.length) { frag.appendChild(el("tr", null, el("td", { colspan: 7, "class": "muted", text: "no site matches" }))); }
    body.replaceChildren(frag);
    var pages = Math.max(1, Math.ceil(view.length / PAGE));
    document.getElementById("count").textContent = view.length + " of " + SITES.length + " sites";
    document.getElementById("pageinfo").textContent = "page " + (state.page + 1) + " of " + pages;
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
    var ths = document.querySelectorAll("#table th");
    for (var i = 0; i < ths.length; i++) {
      var th = ths[i];
      th.classList.remove("sorted-asc", "sorted-desc");
      if (th.getAttribute("data-key") === state.key) { th.classList.add(state.dir > 0 ? "sorted-asc" : "sorted-desc"); }
    }
  }

  function section(title) { return el("h3", { text: title }); }
  function table(head, rows) {
    var t = el("table", { "class": "inner" });
    var tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", { text: h })); });
    t.appendChild(el("thead", null, tr));
    var tb = el("tbody");
    rows.forEach(function (r) { tb.appendChild(r); });
    t.appendChild(tb);
    return t;
  }
  function kv(obj) {
    var dl = el("dl", { "class": "kv" });
    Object.keys(obj || {}).forEach(function (k) {
      var v = obj[k];
      dl.appendChild(el("dt", { text: k }));
      dl.appendChild(el("dd", { "class": "mono", text: typeof v === "object" ? JSON.stringify(v) : String(v) }));
    });
    return dl;
  }
  function detail(s) {
    var box = el("div");
    box.appendChild(el("div", { "class": "panel" },
      el("span", { "class": "big mono", text: s.d || s.i }), vbadge(s.v),
      el("span", { "class": "big", text: s.s === null ? "no score" : "score " + s.s }),
      el("span", { "class": "muted", text: "basis: " + dash(s.b) + " · role: " + dash(s.ro) + " · " + s.ms + " ms" })));
    box.appendChild(el("p", null, "input: ", el("span", { "class": "mono", text: s.i }), " · final URL: ", link(s.u)));
    if (s.sup) { box.appendChild(el("p", { text: "allowlisted: " + s.sup })); }
    if (s.tr) { box.appendChild(el("p", { "class": "o-warn", text: "judging was capped (" + s.tr + " cut); see the JSON report" })); }
    if (s.rs.length) {
      var ul = el("ul");
      s.rs.forEach(function (r) { ul.appendChild(el("li", { text: r })); });
      box.appendChild(section("Why")); box.appendChild(ul);
    }
    if (s.E) {
      var ue = el("ul");
      s.E.forEach(function (r) { ue.appendChild(el("li", { text: r })); });
      box.appendChild(section("Errors")); box.appendChild(ue);
    }
    if (s.ch) { box.appendChild(section("Change since baseline")); box.appendChild(changeBox(s.ch)); }
    box.appendChild(section("Findings (" + s.F.length + ")"));
    box.appendChild(table(["rule", "outcome", "points", "finding and evidence"], s.F.map(function (f) {
      var cell = el("td", null, el("span", { text: f[4] }));
      if (f[5].length) {
        var ev = el("ul", { "class": "ev" });
        f[5].forEach(function (e) { ev.appendChild(el("li", null, link(e[0]), e[1] ? " " : null, e[1] ? el("q", { text: e[1] }) : null)); });
        if (f[6]) { ev.appendChild(el("li", { "class": "muted", text: "… " + f[6] + " more in the JSON report" })); }
        cell.appendChild(ev);
      }
      var name = META.rule_names[f[0]] || "";
      return el("tr", { "class": "finding" },
        el("td", null, el("span", { "class": "mono", title: name, text: f[0] }), f[3] ? el("span", { "class": "decisive", text: "decisive" }) : null),
        el("td", { "class": "o-" + String(f[1]).replace(/[^a-z]/g, ""), text: f[1] }),
        el("td", { "class": "pts", text: (f[2] > 0 ? "+" : "") + f[2] }),
        cell);
    })));
    box.appendChild(section("Credentials (" + s.C.length + ")"));
    if (s.C.length) {
      box.appendChild(table(["kind", "registry", "link / number", "status", "reason"], s.C.map(function (c) {
        return el("tr", null, el("td", { text: c[0] }), el("td", { text: c[1] }),
          el("td", null, c[2] ? link(c[2]) : null, c[3] ? el("span", { "class": "mono", text: " " + c[3] }) : null),
          el("td", { "class": "st-" + String(c[4]).replace(/[^a-z]/g, ""), text: c[4] }), el("td", { text: c[5] }));
      })));
    } else { box.appendChild(el("p", { "class": "muted", text: "none found" })); }
    box.appendChild(section("Pages crawled (" + s.P.length + (s.Pm ? " + " + s.Pm + " more" : "") + ")"));
    box.appendChild(table(["URL", "status", "kind", "error"], s.P.map(function (p) {
      return el("tr", null, el("td", null, link(p[0])), el("td", { text: p[1] }), el("td", { text: p[2] }), el("td", { text: p[3] }));
    })));
    box.appendChild(section("TLS"));
    box.appendChild(kv(s.T));
    box.appendChild(section("Redirects"));
    if (s.R.length) {
      var ol = el("ol");
      s.R.forEach(function (u) { ol.appendChild(el("li", null, link(u))); });
      box.appendChild(ol);
    } else { box.appendChild(el("p", { "class": "muted", text: "none" })); }
    if (s.dm) { box.appendChild(section("Domain")); box.appendChild(kv(s.dm)); }
    return box;
  }
  var blocks = {};
  function block(b) {
    if (!blocks[b]) { blocks[b] = decode("pc-d" + b); }
    return blocks[b];
  }
  function openDetail(n) {
    var row = SITES[n];
    if (!row) { return; }
    state.open = n;
    render();
    var d = document.getElementById("detail");
    d.removeAttribute("data-n");
    block(Math.floor(n / META.chunk)).then(function (recs) {
      if (state.open !== n) { return; }
      var s = Object.assign({}, recs[n % META.chunk], row);
      document.getElementById("detail-body").replaceChildren(detail(s));
      d.hidden = false;
      d.setAttribute("data-n", String(n));
      d.scrollIntoView();
    }).catch(function (err) {
      document.getElementById("detail-body").replaceChildren(el("p", { text: "could not read the site's data: " + err }));
      d.hidden = false;
    });
  }

  function changeBox(c) {
    var box = el("div");
    var head = c.st + (c.dir && c.dir !== "unknown" ? " · " + c.dir : "") + (c.reg ? " · regression" : "");
    if (c.vf || c.vt) { head += " · verdict " + dash(c.vf) + " → " + dash(c.vt); }
    if (c.sd !== null && c.sd !== undefined) { head += " · score " + (c.sd > 0 ? "+" : "") + c.sd; }
    box.appendChild(el("div", { "class": c.reg ? "o-fail" : null, text: head }));
    if (c.sum) { box.appendChild(el("div", { text: c.sum })); }
    if (c.it && c.it.length) {
      var ul = el("ul", { "class": "ev" });
      c.it.forEach(function (i) { ul.appendChild(el("li", null, i[0] ? el("span", { "class": "muted", text: i[0] + ": " }) : null, i[1])); });
      box.appendChild(ul);
    }
    if (c.raw) { box.appendChild(kv(c.raw)); }
    return box;
  }
  function renderChanges() {
    var body = document.getElementById("changes-body");
    if (!body) { return; }
    if (!META.changed.length) { body.appendChild(el("p", { "class": "muted", text: "nothing changed" })); return; }
    body.appendChild(table(["site", "verdict now", "what changed"], META.changed.map(function (c) {
      return el("tr", null, el("td", { "class": "mono", text: c.i }), el("td", null, vbadge(c.v)), el("td", null, changeBox(c)));
    })));
  }
  function renderNetworks() {
    var body = document.getElementById("networks-body");
    if (!body) { return; }
    META.clusters.forEach(function (c) {
      body.appendChild(el("h3", { text: "network " + c.id + " (" + c.n + " sites)" }));
      var ul = el("ul", { "class": "members" });
      c.m.forEach(function (m) { ul.appendChild(el("li", null, el("span", { "class": "mono", text: m.d || m.i }), " ", vbadge(m.v))); });
      if (c.n > c.m.length) { ul.appendChild(el("li", { "class": "muted", text: "… " + (c.n - c.m.length) + " more" })); }
      body.appendChild(ul);
      if (c.e.length) {
        body.appendChild(table(["strength", "shared evidence", "value", "sites", "domains"], c.e.map(function (e) {
          return el("tr", null, el("td", { text: e[0] }), el("td", { text: e[1] }), el("td", { "class": "mono", text: e[2] }),
            el("td", { "class": "num", text: dash(e[3]) }), el("td", { "class": "mono", text: e[4].join(", ") }));
        })));
      }
    });
  }

  function wire() {
    document.getElementById("f-verdict").addEventListener("change", function (e) { state.verdict = e.target.value; state.page = 0; refresh(); });
    var timer = null;
    document.getElementById("f-search").addEventListener("input", function (e) {
      clearTimeout(timer);
      timer = setTimeout(function () { state.q = e.target.value.trim(); state.page = 0; refresh(); }, 120);
    });
    document.getElementById("prev").addEventListener("click", function () { state.page = Math.max(0, state.page - 1); render(); });
    document.getElementById("next").addEventListener("click", function () { state.page += 1; render(); });
    document.getElementById("close").addEventListener("click", function () {
      var d = document.getElementById("detail");
      d.hidden = true; d.removeAttribute("data-n"); state.open = -1; render();
    });
    document.querySelector("#table thead").addEventListener("click", function (e) {
      var key = e.target.getAttribute && e.target.getAttribute("data-key");
      if (!key) { return; }
      state.dir = state.key === key ? -state.dir : 1;
      state.key = key;
      refresh();
    });
    document.getElementById("rows").addEventListener("click", function (e) {
      var node = e.target;
      if (node.closest && node.closest("a")) { return; }
      var tr = node.closest ? node.closest("tr") : null;
      if (tr && tr.hasAttribute("data-n")) { openDetail(Number(tr.getAttribute("data-n"))); }
    });
    document.getElementById("rows").addEventListener("keydown", function (e) {
      var tr = e.target;
      if ((e.key === "Enter" || e.key === " ") && tr.hasAttribute && tr.hasAttribute("data-n")) {
        e.preventDefault();
        openDetail(Number(tr.getAttribute("data-n")));
      }
    });
  }

  renderChanges();
  renderNetworks();
  wire();
  decode("pc-rows").then(function (rows) {
    SITES = rows.map(function (r, n) {
      return { i: r[0], d: r[1], v: r[2], s: r[3], ro: r[4], k: r[5], cv: r[6], cc: r[7], age: r[8], u: r[9],
               _n: n, _q: (String(r[1]) + " " + String(r[0]) + " " + String(r[9])).toLowerCase() };
    });
    refresh();
    document.body.setAttribute("data-ready", "1");
  }).catch(function (err) {
    document.getElementById("rows").replaceChildren(el("tr", null, el("td", { colspan: 7, text: "could not read the report data: " + err })));
    document.body.setAttribute("data-ready", "error");
  });
})();
