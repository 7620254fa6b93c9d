// RuptureLab coding screen. No build step, no framework; loaded as a module
// from 'self' (the Content-Security-Policy allows no inline script). Every
// change goes through the coding JSON API (/api/v1/studies/{study}/coding/…)
// with the session's CSRF token. Offsets sent to the server are UTF-16 code
// units (what DOM selections count) as start16/end16; the server converts
// them to the code points it stores.
const root = document.getElementById("coding");
if (root) {
  const study = root.dataset.study;
  const csrf = root.dataset.csrf;
  const base = `/api/v1/studies/${encodeURIComponent(study)}/coding`;
  const $ = (id) => document.getElementById(id);
  const textEl = $("text");
  const statusEl = $("status");
  const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

  let queue = [];        // queue items
  let index = -1;        // position of the current response in the queue
  let current = null;    // the current response (API body)
  let pending = null;    // {start16, end16, text} selected, not yet coded
  let busy = false;

  const params = new URLSearchParams(location.search);
  const filterQuery = () => {
    const q = new URLSearchParams();
    for (const k of ["segment", "question", "attribute", "value", "state"]) {
      const v = params.get(k);
      if (v) q.set(k, v);
    }
    return q.toString();
  };

  const say = (msg, kind = "info") => {
    statusEl.textContent = msg;
    statusEl.dataset.kind = kind;
  };

  async function api(method, url, body) {
    const opts = { method, headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(url, opts);
    if (res.status === 204) return null;
    let data = null;
    try { data = await res.json(); } catch (_) { data = null; }
    if (!res.ok) {
      const err = new Error((data && data.error) || `the server answered ${res.status}`);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  // ---- codebook -------------------------------------------------------
  const codeByPath = new Map();
  const colourOf = (path) => {
    const c = codeByPath.get(path);
    if (c && c.colour) return c.colour;
    let h = 0;
    for (const ch of path) h = (h * 31 + ch.codePointAt(0)) >>> 0;
    return PALETTE[h % PALETTE.length];
  };
  const nameOf = (path) => (codeByPath.get(path) || { name: path }).name;
  let memoCode = null;

  function renderCodebook() {
    const list = $("codebook");
    list.replaceChildren();
    codeByPath.clear();
    for (const c of current.codebook) {
      codeByPath.set(c.path, c);
      const li = document.createElement("li");
      li.className = c.codable ? "code" : "category";
      li.dataset.path = c.path;
      li.dataset.depth = String(c.depth);
      li.classList.add(`depth-${Math.min(c.depth, 4)}`);
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      if (c.codable) swatch.style.background = colourOf(c.path);
      li.append(swatch);
      if (c.codable) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "apply";
        b.dataset.path = c.path;
        b.title = (c.definition || c.name) + "\nClick: apply to the selection. Shift+click: whole response.";
        const num = document.createElement("span");
        num.className = "num";
        num.textContent = c.number <= 9 ? String(c.number) : "";
        b.append(num, document.createTextNode(c.name));
        b.addEventListener("mousedown", (e) => e.preventDefault()); // keep the selection
        b.addEventListener("click", (e) => apply(c.path, e.shiftKey));
        const memo = document.createElement("button");
        memo.type = "button";
        memo.className = "memo-link";
        memo.textContent = "memo";
        memo.title = `Your memo on ${c.name}`;
        memo.addEventListener("click", () => openCodeMemo(c.path));
        li.append(b, memo);
      } else {
        const s = document.createElement("span");
        s.className = "category-name";
        s.textContent = c.name;
        li.append(s);
      }
      list.append(li);
    }
    filterCodebook();
  }

  function matches() {
    const q = $("code-search").value.trim().toLocaleLowerCase();
    return current.codebook.filter((c) => c.codable && (!q ||
      c.name.toLocaleLowerCase().includes(q) || c.path.toLocaleLowerCase().includes(q) || String(c.number) === q));
  }

  function filterCodebook() {
    const q = $("code-search").value.trim();
    const ok = new Set(matches().map((c) => c.path));
    for (const li of $("codebook").children) {
      li.hidden = q !== "" && li.classList.contains("code") && !ok.has(li.dataset.path);
      if (q !== "" && li.classList.contains("category")) {
        li.hidden = ![...ok].some((p) => p.startsWith(li.dataset.path + "/"));
      }
    }
  }

  function openCodeMemo(path) {
    memoCode = path;
    $("code-memo-box").hidden = false;
    $("code-memo-name").textContent = nameOf(path);
    const mine = current.code_memos.find((m) => m.code === path && m.mine);
    $("code-memo").value = mine ? mine.text : "";
    $("code-memo").focus();
  }

  // ---- the text with its spans ---------------------------------------
  // Offsets into textEl's text, in UTF-16 units, of a DOM position.
  function offsetOf(node, offset) {
    const r = document.createRange();
    r.setStart(textEl, 0);
    r.setEnd(node, offset);
    return r.toString().length;
  }

  function renderText() {
    const t = current.text;
    const spans = current.codings.filter((c) => !c.whole);
    const cuts = new Set([0, t.length]);
    for (const c of spans) { cuts.add(c.start16); cuts.add(c.end16); }
    const points = [...cuts].filter((x) => x >= 0 && x <= t.length).sort((a, b) => a - b);
    textEl.replaceChildren();
    for (let i = 0; i + 1 < points.length; i++) {
      const a = points[i], b = points[i + 1];
      const covering = spans.filter((c) => c.start16 <= a && c.end16 >= b);
      const piece = t.slice(a, b);
      if (covering.length === 0) {
        textEl.append(document.createTextNode(piece));
        continue;
      }
      const el = document.createElement("span");
      el.className = "coded";
      el.dataset.start16 = String(a);
      el.dataset.end16 = String(b);
      el.textContent = piece;
      // Stacked underlines, one per coding, in the codes' colours.
      const shadows = covering.map((c, k) => `inset 0 -${3 * (k + 1)}px 0 0 ${colourOf(c.code)}`);
      el.style.boxShadow = shadows.join(", ");
      el.style.paddingBottom = `${3 * covering.length}px`;
      el.title = covering.map((c) => nameOf(c.code) + (c.mine ? "" : ` (${c.coder})`)).join("\n");
      textEl.append(el);
    }
    const whole = $("whole");
    whole.replaceChildren();
    for (const c of current.codings.filter((c) => c.whole)) {
      const chip = document.createElement("button");
      chip.type = "button";
      chip.className = "chip";
      chip.style.borderLeftColor = colourOf(c.code);
      chip.textContent = `Whole response: ${nameOf(c.code)}` + (c.mine ? "" : ` (${c.coder})`);
      chip.addEventListener("click", () => openPanel([c], "the whole response"));
      whole.append(chip);
    }
  }

  function openPanel(codings, where) {
    const panel = $("span-panel");
    panel.replaceChildren();
    const h = document.createElement("h3");
    h.textContent = `Codes of ${where}`;
    panel.append(h);
    const ul = document.createElement("ul");
    for (const c of codings) {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = colourOf(c.code);
      const label = document.createElement("span");
      label.textContent = nameOf(c.code) + (c.mine ? "" : ` — ${c.coder}`) + (c.memo ? ` — “${c.memo}”` : "");
      li.append(sw, label);
      if (c.mine) {
        const sel = document.createElement("select");
        sel.setAttribute("aria-label", "Change the code");
        for (const k of current.codebook.filter((k) => k.codable)) {
          const o = document.createElement("option");
          o.value = k.path;
          o.textContent = k.name;
          o.selected = k.path === c.code;
          sel.append(o);
        }
        sel.addEventListener("change", () => change(c, { code: sel.value }));
        const rm = document.createElement("button");
        rm.type = "button";
        rm.className = "danger remove";
        rm.textContent = "Remove";
        rm.addEventListener("click", () => remove(c));
        li.append(sel, rm);
      }
      ul.append(li);
    }
    panel.append(ul);
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", () => { panel.hidden = true; });
    panel.append(close);
    panel.hidden = false;
  }

  textEl.addEventListener("mouseup", captureSelection);
  textEl.addEventListener("keyup", captureSelection);
  document.addEventListener("selectionchange", () => {
    const sel = window.getSelection();
    if (sel && sel.rangeCount && !sel.isCollapsed && textEl.contains(sel.anchorNode)) captureSelection();
  });

  function captureSelection() {
    const sel = window.getSelection();
    if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return;
    const r = sel.getRangeAt(0);
    if (!textEl.contains(r.startContainer) || !textEl.contains(r.endContainer)) return;
    let a = offsetOf(r.startContainer, r.startOffset);
    let b = offsetOf(r.endContainer, r.endOffset);
    // Trim surrounding white space, as coders rarely mean it.
    const t = current.text;
    while (a < b && /\s/.test(t[a])) a++;
    while (b > a && /\s/.test(t[b - 1])) b--;
    if (a >= b) return;
    pending = { start16: a, end16: b, text: t.slice(a, b) };
    const short = pending.text.length > 60 ? pending.text.slice(0, 57) + "…" : pending.text;
    say(`Selected “${short}”: press a code's number, click a code or search for one.`);
  }

  textEl.addEventListener("click", (e) => {
    const sel = window.getSelection();
    if (sel && !sel.isCollapsed) return;
    const el = e.target.closest && e.target.closest(".coded");
    if (!el) return;
    const a = Number(el.dataset.start16), b = Number(el.dataset.end16);
    const covering = current.codings.filter((c) => !c.whole && c.start16 <= a && c.end16 >= b);
    openPanel(covering, `“${current.text.slice(a, b)}”`);
  });

  // ---- changes ----------------------------------------------------------
  async function guarded(fn) {
    if (busy) return;
    busy = true;
    try { await fn(); } catch (e) {
      say(e.message, "error");
      if (e.status === 409 || e.status === 404) await load(current.id, false);
    } finally { busy = false; }
  }

  function apply(path, whole) {
    return guarded(async () => {
      if (!whole && !pending) {
        say("Select a passage first (or use Shift with the number, or Shift+click, to code the whole response).", "error");
        return;
      }
      const body = { code: path };
      if (!whole) { body.start16 = pending.start16; body.end16 = pending.end16; }
      await api("POST", `${base}/responses/${current.id}/codings`, body);
      pending = null;
      const sel = window.getSelection();
      if (sel) sel.removeAllRanges();
      await load(current.id, false);
      say(`Applied ${nameOf(path)}${whole ? " to the whole response" : ""}.`, "ok");
    });
  }

  function change(c, fields) {
    return guarded(async () => {
      await api("PATCH", `${base}/codings/${c.id}`, Object.assign({ version: c.version }, fields));
      await load(current.id, false);
      say("Changed.", "ok");
    });
  }

  function remove(c) {
    return guarded(async () => {
      await api("DELETE", `${base}/codings/${c.id}?version=${c.version}`);
      $("span-panel").hidden = true;
      await load(current.id, false);
      say(`Removed ${nameOf(c.code)}.`, "ok");
    });
  }

  function step(redo) {
    return guarded(async () => {
      const r = await api("POST", `${base}/${redo ? "redo" : "undo"}`);
      if (!r.done) { say(r.message); return; }
      const what = { "coding.add": "adding", "coding.update": "changing", "coding.delete": "removing", "coding.add_hits": "coding all search hits with" }[r.action] || r.action;
      const i = queue.findIndex((q) => q.id === r.response);
      await load(r.response, false, i >= 0 ? i : index);
      say(`${redo ? "Redid" : "Undid"} ${what} a coding.`, "ok");
    });
  }

  // ---- suggestions ----------------------------------------------------------
  // Proposals from the study's model (trained on the consensus codings),
  // shown apart from the codings; accepting one codes the whole response.
  let suggestions = [];

  function renderSuggestions(data) {
    const box = $("suggestions");
    const list = $("suggestion-list");
    list.replaceChildren();
    suggestions = data && data.enabled ? data.suggestions : [];
    box.hidden = suggestions.length === 0;
    suggestions.forEach((s, i) => {
      const li = document.createElement("li");
      li.className = "suggestion";
      li.dataset.code = s.code;
      li.style.borderLeftColor = colourOf(s.code);
      const label = document.createElement("span");
      label.className = "suggested";
      label.textContent = `Suggested: ${s.name} ${s.percent}%`;
      label.title = s.code;
      const ok = document.createElement("button");
      ok.type = "button";
      ok.className = "accept";
      ok.textContent = i === 0 ? "Accept (a)" : "Accept";
      ok.setAttribute("aria-label", `Accept the suggestion ${s.name} (confidence ${s.percent}%): code the whole response`);
      ok.addEventListener("click", () => decide(s, true));
      const no = document.createElement("button");
      no.type = "button";
      no.className = "reject";
      no.textContent = i === 0 ? "Reject (r)" : "Reject";
      no.setAttribute("aria-label", `Reject the suggestion ${s.name} (confidence ${s.percent}%)`);
      no.addEventListener("click", () => decide(s, false));
      li.append(label, ok, no);
      list.append(li);
    });
  }

  async function loadSuggestions(id) {
    try {
      const data = await api("GET", `${base}/responses/${id}/suggestions`);
      if (current && current.id === id) renderSuggestions(data);
    } catch (_) {
      // Suggestions are an aid: without them the screen works as before.
      renderSuggestions(null);
    }
  }

  function decide(s, accept) {
    return guarded(async () => {
      await api("POST", `${base}/responses/${current.id}/suggestions/${accept ? "accept" : "reject"}`, { code: s.code });
      await load(current.id, false);
      say(accept ? `Accepted the suggestion: ${s.name} applied to the whole response.` : `Rejected the suggestion ${s.name}.`, "ok");
    });
  }

  // ---- memos --------------------------------------------------------------
  let memoTimer = null;
  $("memo").addEventListener("input", () => {
    clearTimeout(memoTimer);
    const id = current.id, text = $("memo").value;
    memoTimer = setTimeout(() => saveMemo(id, text), 600);
  });
  async function saveMemo(id, text) {
    try {
      await api("PUT", `${base}/responses/${id}/memo`, { text });
      say("Memo saved.", "ok");
    } catch (e) { say(e.message, "error"); }
  }
  let codeMemoTimer = null;
  $("code-memo").addEventListener("input", () => {
    clearTimeout(codeMemoTimer);
    const code = memoCode, text = $("code-memo").value;
    codeMemoTimer = setTimeout(async () => {
      try {
        await api("PUT", `${base}/code-memo`, { code, text });
        const m = current.code_memos.find((x) => x.code === code && x.mine);
        if (m) m.text = text; else current.code_memos.push({ code, text, mine: true });
        say("Code memo saved.", "ok");
      } catch (e) { say(e.message, "error"); }
    }, 600);
  });

  // ---- loading and navigation -----------------------------------------
  function renderProgress() {
    const done = queue.filter((q) => q.coded_by_me).length;
    $("progress").max = Math.max(queue.length, 1);
    $("progress").value = done;
    $("progress-text").textContent = `${done} of ${queue.length} coded by you`;
    $("position").textContent = index >= 0 ? `${index + 1} / ${queue.length}` : `– / ${queue.length}`;
    $("undo").disabled = !current || current.undo === 0;
    $("redo").disabled = !current || current.redo === 0;
  }

  async function load(id, resetScroll = true, at) {
    if (at !== undefined) index = at;
    current = await api("GET", `${base}/responses/${id}`);
    const item = queue[index];
    if (item && item.id === current.id) item.coded_by_me = current.codings.some((c) => c.mine);
    const seg = current.segment ? `${current.segment.key} ${current.segment.label}` : "asked once";
    $("response-key").textContent = `${current.participant} · ${seg} · ${current.question.key}`;
    $("question").textContent = current.question.prompt;
    renderCodebook();
    renderText();
    const mine = current.memos.find((m) => m.mine);
    if (document.activeElement !== $("memo")) $("memo").value = mine ? mine.text : "";
    const others = $("other-memos");
    others.replaceChildren();
    for (const m of current.memos.filter((m) => !m.mine)) {
      const p = document.createElement("p");
      p.className = "other-memo";
      p.textContent = `${m.author}: ${m.text}`;
      others.append(p);
    }
    const tb = $("transcript-body");
    tb.replaceChildren();
    if (current.segment) {
      for (const turn of current.segment.turns) {
        const p = document.createElement("p");
        const s = document.createElement("strong");
        s.textContent = `${turn.speaker}: `;
        p.append(s, document.createTextNode(turn.text));
        tb.append(p);
      }
    } else {
      tb.textContent = "This question was asked once, not about a segment.";
    }
    await loadSuggestions(current.id);
    if (resetScroll) { pending = null; $("span-panel").hidden = true; }
    const u = new URL(location.href);
    u.searchParams.set("r", String(current.id));
    history.replaceState(null, "", u);
    renderProgress();
  }

  async function go(i) {
    if (i < 0 || i >= queue.length) { say(i < 0 ? "This is the first response." : "This is the last response."); return; }
    index = i;
    await guarded(() => load(queue[i].id));
  }

  async function start() {
    try {
      const q = await api("GET", `${base}/queue?${filterQuery()}`);
      queue = q.items;
      if (q.blind) root.classList.add("blind");
      const wanted = Number(params.get("r"));
      let i = queue.findIndex((x) => x.id === wanted);
      if (i < 0 && wanted) {
        // The response is not in this filtered list (e.g. coded since): show it anyway.
        index = -1;
        await load(wanted);
        return;
      }
      if (i < 0) i = 0;
      if (queue.length === 0) { say("No responses match these filters."); renderProgress(); return; }
      index = i;
      await load(queue[i].id);
      say("Select a passage and press a code's number. Press ? for the keyboard.");
    } catch (e) { say(e.message, "error"); }
  }

  $("prev").addEventListener("click", () => go(index - 1));
  $("next").addEventListener("click", () => go(index + 1));
  $("undo").addEventListener("click", () => step(false));
  $("redo").addEventListener("click", () => step(true));
  $("help-button").addEventListener("click", () => { $("help").hidden = !$("help").hidden; });
  $("code-search").addEventListener("input", filterCodebook);
  $("code-search").addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      const m = matches();
      if (m.length === 0) { say("No code matches.", "error"); return; }
      apply(m[0].path, e.shiftKey).then(() => { $("code-search").value = ""; filterCodebook(); textEl.focus(); });
    } else if (e.key === "Escape") {
      $("code-search").value = "";
      filterCodebook();
      textEl.focus();
    }
  });

  document.addEventListener("keydown", (e) => {
    const typing = e.target.closest && e.target.closest("input, textarea, select");
    const mod = e.ctrlKey || e.metaKey;
    if (mod && (e.key === "z" || e.key === "Z")) {
      if (typing) return;
      e.preventDefault();
      step(e.shiftKey);
      return;
    }
    if (mod && (e.key === "y" || e.key === "Y")) {
      if (typing) return;
      e.preventDefault();
      step(true);
      return;
    }
    if (typing || mod || e.altKey || !current) return;
    const digit = /^Digit([1-9])$/.exec(e.code);
    if (digit) {
      const n = Number(digit[1]);
      const c = current.codebook.find((k) => k.number === n);
      if (!c) { say(`There is no code ${n}.`, "error"); return; }
      e.preventDefault();
      apply(c.path, e.shiftKey);
      return;
    }
    switch (e.key) {
      case "/": e.preventDefault(); $("code-search").focus(); break;
      case "t": $("transcript").open = !$("transcript").open; break;
      case "n": go(index + 1); break;
      case "p": go(index - 1); break;
      case "u": {
        const i = queue.findIndex((q, k) => k > index && !q.coded_by_me);
        if (i < 0) say("No response after this one is uncoded by you."); else go(i);
        break;
      }
      case "m": e.preventDefault(); $("memo").focus(); break;
      case "a":
      case "r":
        if (suggestions.length === 0) { say("There is no suggestion for this response."); break; }
        e.preventDefault();
        decide(suggestions[0], e.key === "a");
        break;
      case "?": $("help").hidden = !$("help").hidden; break;
      case "Escape":
        pending = null;
        $("span-panel").hidden = true;
        $("help").hidden = true;
        if (window.getSelection()) window.getSelection().removeAllRanges();
        say("");
        break;
      default: break;
    }
  });

  start();
}
