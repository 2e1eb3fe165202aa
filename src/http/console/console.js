// Rill's web console: vanilla JS over the JSON API (docs/http-api.md), hash routes.
"use strict";
const $ = (s) => document.querySelector(s);
const app = $("#app");
let timer = null; // the current page's refresh/tail timer
let seq = 0; // bumps on every navigation; stale responses are dropped

function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k != null) e.append(k instanceof Node ? k : String(k));
  return e;
}

async function api(path, opts) {
  const r = await fetch("/api" + path, opts && {
    method: opts.method, headers: {"content-type": "application/json"},
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const j = await r.json().catch(() => ({error: r.statusText, code: "HTTP_" + r.status}));
  if (!r.ok) throw new Error(`${j.error} (${j.code})`);
  return j;
}

function toast(msg, err) {
  const t = $("#toast");
  t.textContent = msg; t.className = err ? "err" : ""; t.hidden = false;
  clearTimeout(toast.t); toast.t = setTimeout(() => (t.hidden = true), err ? 8000 : 3000);
}

const enc = encodeURIComponent;
const num = (n) => (n == null ? "–" : Number(n).toLocaleString("en-US"));
function bytes(n) {
  if (n == null) return "–";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + u[i];
}
const rate = (r) => (r == null ? "–" : r < 10 ? r.toFixed(1) : Math.round(r).toLocaleString("en-US"));
function dur(ms) {
  const s = Math.floor(ms / 1000), d = Math.floor(s / 86400);
  return (d ? d + "d " : "") + new Date(s * 1000).toISOString().substr(11, 8);
}
const time = (ms) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");
const lagCell = (l) => h("td", {class: "n"}, h("span", {class: "lag" + (l > 0 ? " hi" : "")}, num(l)));
const stateTag = (s) => h("span", {class: "state " + s}, s);
const table = (id, heads, rows) => h("table", {id},
  h("thead", {}, h("tr", {}, heads.map((c) => h("th", {class: c.endsWith(" ") ? "n" : ""}, c.trim())))),
  h("tbody", {}, rows));

function pager(total, offset, limit, go) {
  return h("span", {class: "muted"},
    h("button", {class: "secondary", disabled: offset <= 0, onclick: () => go(Math.max(0, offset - limit))}, "‹"),
    ` ${total ? offset + 1 : 0}–${Math.min(offset + limit, total)} of ${num(total)} `,
    h("button", {class: "secondary", disabled: offset + limit >= total, onclick: () => go(offset + limit)}, "›"));
}

function page(title, ...kids) {
  app.replaceChildren(h("h1", {}, title), ...kids);
}

// ------------------------------------------------------------------- overview
const ov = {search: "", offset: 0, gsearch: "", goffset: 0, limit: 50};

async function overview(my) {
  const [c, t, g] = await Promise.all([
    api("/cluster"),
    api(`/topics?search=${enc(ov.search)}&offset=${ov.offset}&limit=${ov.limit}`),
    api(`/groups?search=${enc(ov.gsearch)}&offset=${ov.goffset}&limit=${ov.limit}`),
  ]);
  if (my !== seq) return;
  const listeners = c.listeners.map((l) => `${l.name}://${l.advertised_host}:${l.advertised_port}`).join(", ");
  $("#broker-line").textContent = `broker ${c.broker_id} · cluster ${c.cluster_id}`;
  const search = h("input", {id: "topic-search", placeholder: "search topics", value: ov.search});
  search.addEventListener("change", () => { ov.search = search.value; ov.offset = 0; route(); });
  const gsearch = h("input", {id: "group-search", placeholder: "search groups", value: ov.gsearch});
  gsearch.addEventListener("change", () => { ov.gsearch = gsearch.value; ov.goffset = 0; route(); });
  const topicRows = t.topics.map((x) => h("tr", {"data-topic": x.name},
    h("td", {}, h("a", {href: `#/topic/${enc(x.name)}`}, x.name)),
    h("td", {class: "n"}, num(x.partitions)), h("td", {class: "n"}, num(x.records)),
    h("td", {class: "n"}, bytes(x.size_bytes)), h("td", {class: "n"}, rate(x.in_records_per_sec)),
    h("td", {class: "n"}, x.in_bytes_per_sec == null ? "–" : bytes(x.in_bytes_per_sec) + "/s")));
  const groupRows = g.groups.map((x) => h("tr", {"data-group": x.group_id},
    h("td", {}, h("a", {href: `#/group/${enc(x.group_id)}`}, x.group_id)),
    h("td", {}, stateTag(x.state)), h("td", {}, x.protocol || x.type),
    h("td", {class: "n"}, num(x.members)), h("td", {}, x.topics.join(", ")), lagCell(x.total_lag)));
  page("Overview",
    h("div", {class: "cards", id: "cluster"},
      h("div", {class: "card"}, h("b", {}, c.broker_id), h("span", {}, "broker id")),
      h("div", {class: "card"}, h("b", {}, c.version), h("span", {}, "version")),
      h("div", {class: "card"}, h("b", {}, dur(c.uptime_ms)), h("span", {}, "uptime")),
      h("div", {class: "card"}, h("b", {}, num(c.topics)), h("span", {}, "topics")),
      h("div", {class: "card"}, h("b", {}, num(c.partitions)), h("span", {}, "partitions")),
      h("div", {class: "card"}, h("b", {}, listeners), h("span", {}, "listeners"))),
    h("h2", {}, "Topics"),
    h("div", {class: "bar"}, search, pager(t.total, t.offset, t.limit, (o) => { ov.offset = o; route(); }),
      h("a", {href: "#/create"}, "+ create topic")),
    table("topics-table", ["Topic", "Partitions ", "Records ", "Size ", "In msg/s ", "In bytes/s "], topicRows),
    h("h2", {}, "Consumer groups"),
    h("div", {class: "bar"}, gsearch, pager(g.total, g.offset, g.limit, (o) => { ov.goffset = o; route(); })),
    table("groups-table", ["Group", "State", "Protocol", "Members ", "Topics", "Total lag "], groupRows));
  document.body.dataset.loaded = "overview";
  timer = setTimeout(() => refresh(overview), 5000);
}

function refresh(fn) {
  // Re-render in place unless the user is typing in a field.
  if (document.activeElement && document.activeElement.tagName === "INPUT") {
    timer = setTimeout(() => refresh(fn), 5000);
    return;
  }
  fn(seq).catch((e) => toast(e.message, true));
}

// ----------------------------------------------------------------- create topic
function createPage() {
  const name = h("input", {id: "new-topic-name", required: true, pattern: "[a-zA-Z0-9._-]+"});
  const parts = h("input", {id: "new-topic-partitions", type: "number", min: 1, value: 1});
  const cfg = h("textarea", {id: "new-topic-configs", rows: 3, placeholder: "retention.ms=86400000\ncleanup.policy=compact"});
  const form = h("form", {class: "panel", id: "create-topic-form"},
    h("label", {}, "Name", name), h("label", {}, "Partitions", parts),
    h("label", {}, "Configs (name=value per line)", cfg),
    h("div", {}, h("button", {id: "create-topic-btn", type: "submit"}, "Create topic")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const configs = {};
    for (const line of cfg.value.split("\n")) {
      const i = line.indexOf("=");
      if (i > 0) configs[line.slice(0, i).trim()] = line.slice(i + 1).trim();
    }
    try {
      await api("/topics", {method: "POST", body: {name: name.value.trim(), partitions: Number(parts.value), configs}});
      toast(`created topic ${name.value}`);
      location.hash = `#/topic/${enc(name.value.trim())}`;
    } catch (e) { toast(e.message, true); }
  });
  page("Create topic", form);
  document.body.dataset.loaded = "create";
}

// --------------------------------------------------------------------- topic
async function topicPage(my, name) {
  const t = await api(`/topics/${enc(name)}`);
  if (my !== seq) return;
  const rows = t.partitions.map((p) => h("tr", {},
    h("td", {class: "n"}, h("a", {href: `#/messages/${enc(name)}?partition=${p.partition}`}, p.partition)),
    h("td", {class: "n"}, num(p.start_offset)), h("td", {class: "n"}, num(p.end_offset)),
    h("td", {class: "n"}, num(p.records)), h("td", {class: "n"}, bytes(p.size_bytes)), h("td", {class: "n"}, p.leader)));
  const cfgRows = t.configs.map((c) => h("tr", {class: c.source === "DEFAULT_CONFIG" ? "muted" : ""},
    h("td", {}, c.name), h("td", {}, c.value == null ? "(sensitive)" : c.value), h("td", {class: "hdr"}, c.source)));
  const del = h("button", {class: "danger", id: "delete-topic-btn", onclick: async () => {
    if (!confirm(`Delete topic ${name} and all its data?`)) return;
    try { await api(`/topics/${enc(name)}`, {method: "DELETE"}); toast(`deleted ${name}`); location.hash = "#/"; }
    catch (e) { toast(e.message, true); }
  }}, "Delete topic");
  page(`Topic ${name}`,
    h("div", {class: "bar"}, h("a", {href: `#/messages/${enc(name)}`}, "Browse messages"), " ", del),
    h("h2", {}, "Produce a test message"), produceForm(name, t.partition_count),
    h("h2", {}, `Partitions (${num(t.partition_count)})`),
    t.partition_count > t.partitions.length ? h("p", {class: "muted"}, `first ${t.partitions.length} shown`) : null,
    table("partitions-table", ["Partition ", "Start offset ", "End offset ", "Records ", "Size ", "Leader "], rows),
    h("h2", {}, "Configs"), table("configs-table", ["Name", "Value", "Source"], cfgRows));
  document.body.dataset.loaded = "topic";
}

function produceForm(name, count) {
  const part = h("select", {id: "produce-partition"}, h("option", {value: ""}, "auto"),
    Array.from({length: Math.min(count, 1000)}, (_, i) => h("option", {value: i}, i)));
  const key = h("input", {id: "produce-key", placeholder: "key (empty: null)"});
  const value = h("textarea", {id: "produce-value", rows: 3, placeholder: "value"});
  const hdrs = h("input", {id: "produce-headers", placeholder: "headers: k=v, k2=v2"});
  const form = h("form", {class: "panel", id: "produce-form"},
    h("div", {class: "bar"}, "Partition", part, key), value, hdrs,
    h("div", {}, h("button", {type: "submit", id: "produce-btn"}, "Produce")));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const headers = hdrs.value.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
      const i = s.indexOf("=");
      return i < 0 ? {key: s, value: null} : {key: s.slice(0, i), value: s.slice(i + 1)};
    });
    const body = {key: key.value === "" ? null : key.value, value: value.value, headers};
    if (part.value !== "") body.partition = Number(part.value);
    try {
      const r = await api(`/topics/${enc(name)}/messages`, {method: "POST", body});
      toast(`produced to partition ${r.partition} at offset ${r.offset}`);
    } catch (e) { toast(e.message, true); }
  });
  return form;
}

// ------------------------------------------------------------------ messages
function b64bytes(b) { return Uint8Array.from(atob(b.base64), (c) => c.charCodeAt(0)); }
function hex(b) {
  return Array.from(b64bytes(b), (x) => x.toString(16).padStart(2, "0")).join(" ");
}
function show(b, fmt) {
  if (b == null) return h("span", {class: "muted"}, "null");
  if (fmt === "hex" || (b.text == null && fmt !== "json")) return h("pre", {class: "hex"}, hex(b));
  if (fmt === "json" || fmt === "auto") {
    try { return h("pre", {class: "json"}, JSON.stringify(JSON.parse(b.text), null, 2)); }
    catch (_) { if (fmt === "json") return h("pre", {class: "hex"}, b.text == null ? hex(b) : b.text); }
  }
  return h("pre", {class: "text"}, b.text);
}

async function messagesPage(my, name, params) {
  const t = await api(`/topics/${enc(name)}?limit=1`);
  if (my !== seq) return;
  const st = {partition: params.get("partition") || "0", mode: params.get("timestamp") ? "timestamp" : params.get("offset") ? "offset" : "newest",
    at: params.get("timestamp") || params.get("offset") || "", fmt: params.get("format") || "auto", limit: params.get("limit") || "50"};
  const part = h("input", {id: "msg-partition", type: "number", min: 0, max: t.partition_count - 1, value: st.partition});
  const mode = h("select", {id: "msg-mode"}, ["newest", "offset", "timestamp"].map((m) => h("option", {value: m, selected: m === st.mode}, m)));
  const at = h("input", {id: "msg-at", placeholder: "offset or ms / ISO time", value: st.at});
  const limit = h("input", {id: "msg-limit", type: "number", min: 1, max: 500, value: st.limit});
  const fmt = h("select", {id: "msg-format"}, ["auto", "text", "json", "hex"].map((f) => h("option", {value: f, selected: f === st.fmt}, f)));
  const tail = h("input", {id: "msg-tail", type: "checkbox"});
  const body = h("tbody", {});
  const status = h("span", {class: "muted", id: "msg-status"});
  let next = null;
  const render = (msgs, append) => {
    if (!append) body.replaceChildren();
    for (const m of msgs) {
      body.append(h("tr", {"data-offset": m.offset},
        h("td", {class: "n"}, m.offset), h("td", {class: "hdr"}, time(m.timestamp)),
        h("td", {}, show(m.key, fmt.value)), h("td", {class: "value"}, show(m.value, fmt.value)),
        h("td", {class: "hdr"}, m.headers.map((x) => h("div", {}, `${x.key}: `, x.value == null ? "null" : x.value.text ?? hex(x.value))))));
    }
  };
  let shown = [];
  const load = async () => {
    let q = `partition=${part.value}&limit=${limit.value}`;
    if (mode.value === "offset") q += `&offset=${Number(at.value) || 0}`;
    if (mode.value === "timestamp") q += `&timestamp=${/^\d+$/.test(at.value) ? at.value : Date.parse(at.value) || 0}`;
    const r = await api(`/topics/${enc(name)}/messages?${q}`);
    shown = r.messages; next = r.next_offset; render(shown, false);
    status.textContent = `offsets ${num(r.start_offset)}–${num(r.end_offset)} · showing ${r.messages.length}`;
    document.body.dataset.loaded = "messages";
  };
  const poll = async () => {
    if (my !== seq) return;
    if (tail.checked && next != null) {
      try {
        const r = await api(`/topics/${enc(name)}/messages?partition=${part.value}&offset=${next}&limit=100`);
        if (my !== seq) return;
        shown = shown.concat(r.messages); next = r.next_offset; render(r.messages, true);
        status.textContent = `offsets ${num(r.start_offset)}–${num(r.end_offset)} · showing ${shown.length} · tailing`;
      } catch (e) { toast(e.message, true); }
    }
    timer = setTimeout(poll, 1000);
  };
  const go = h("button", {id: "msg-go", onclick: () => load().catch((e) => toast(e.message, true))}, "Seek");
  fmt.addEventListener("change", () => render(shown, false));
  page(`Messages of ${name}`,
    h("div", {class: "bar"}, h("a", {href: `#/topic/${enc(name)}`}, "‹ topic"), "Partition", part, mode, at, "Limit", limit, go,
      "Show", fmt, h("label", {}, tail, " live tail"), status),
    table("messages-table", ["Offset ", "Timestamp", "Key", "Value", "Headers"], []));
  $("#messages-table").replaceChild(body, $("#messages-table tbody"));
  await load();
  timer = setTimeout(poll, 1000);
}

// --------------------------------------------------------------------- group
async function groupPage(my, id) {
  const g = await api(`/groups/${enc(id)}`);
  if (my !== seq) return;
  const members = g.members.map((m) => h("tr", {},
    h("td", {}, m.member_id), h("td", {}, m.client_id), h("td", {}, m.client_host),
    h("td", {}, m.assignment.map((a) => `${a.topic}-${a.partition}`).join(", "))));
  const offsets = g.offsets.map((o) => h("tr", {"data-tp": `${o.topic}-${o.partition}`},
    h("td", {}, h("a", {href: `#/topic/${enc(o.topic)}`}, o.topic)), h("td", {class: "n"}, o.partition),
    h("td", {class: "n"}, num(o.committed_offset)), h("td", {class: "n"}, num(o.end_offset)), lagCell(o.lag),
    h("td", {class: "hdr"}, o.member_id || "")));
  const strategy = h("select", {id: "reset-strategy"}, ["earliest", "latest", "offset", "timestamp"].map((s) => h("option", {value: s}, s)));
  const value = h("input", {id: "reset-value", placeholder: "offset or timestamp (ms)"});
  const topics = [...new Set(g.offsets.map((o) => o.topic))];
  const topic = h("select", {id: "reset-topic"}, h("option", {value: ""}, "all committed topics"), topics.map((t) => h("option", {value: t}, t)));
  const reset = h("form", {class: "panel", id: "reset-form"},
    h("div", {class: "bar"}, "Reset to", strategy, value, topic,
      h("button", {type: "submit", disabled: !["Empty", "Dead"].includes(g.state)}, "Reset offsets")),
    h("span", {class: "muted"}, "Only while the group is Empty (stop its consumers first), as kafka-consumer-groups requires."));
  reset.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {strategy: strategy.value};
    if (strategy.value === "offset") body.offset = Number(value.value);
    if (strategy.value === "timestamp") body.timestamp = Number(value.value);
    if (topic.value) body.topic = topic.value;
    try { await api(`/groups/${enc(id)}/offsets`, {method: "POST", body}); toast("offsets reset"); route(); }
    catch (e) { toast(e.message, true); }
  });
  page(`Group ${id}`,
    h("div", {class: "cards"},
      h("div", {class: "card"}, h("b", {}, stateTag(g.state)), h("span", {}, "state")),
      h("div", {class: "card"}, h("b", {}, g.protocol || g.type), h("span", {}, "protocol")),
      h("div", {class: "card"}, h("b", {}, g.members.length), h("span", {}, "members")),
      h("div", {class: "card"}, h("b", {id: "group-lag"}, num(g.total_lag)), h("span", {}, "total lag"))),
    h("h2", {}, "Members"), table("members-table", ["Member", "Client id", "Host", "Assignment"], members),
    h("h2", {}, "Offsets and lag"),
    table("offsets-table", ["Topic", "Partition ", "Committed ", "End ", "Lag ", "Member"], offsets),
    h("h2", {}, "Reset offsets"), reset);
  document.body.dataset.loaded = "group";
  timer = setTimeout(() => refresh((m) => groupPage(m, id)), 5000);
}

// -------------------------------------------------------------------- router
function route() {
  clearTimeout(timer);
  const my = ++seq;
  document.body.dataset.loaded = "";
  const [path, query] = location.hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  let p;
  if (parts[0] === "topic" && parts[1]) p = topicPage(my, parts[1]);
  else if (parts[0] === "messages" && parts[1]) p = messagesPage(my, parts[1], params);
  else if (parts[0] === "group" && parts[1]) p = groupPage(my, parts[1]);
  else if (parts[0] === "create") p = Promise.resolve(createPage());
  else p = overview(my);
  p.catch((e) => { if (my === seq) page("Error", h("p", {class: "err", id: "error"}, e.message)); });
}
window.addEventListener("hashchange", route);
route();
