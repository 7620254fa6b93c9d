// RuptureLab turn-by-turn transcript editor for the segment form. No build
// step; loaded as a module from 'self' (the CSP allows no inline script).
// Without it the plain-text box still works: one `SPEAKER: text` turn per line.
//
// The editor keeps the turns in memory and writes them as JSON into the
// hidden `turns_json` field, which the server prefers to the text box (it
// also keeps each turn's start/end times). Keys, in a turn:
//   Alt+↑ / Alt+↓   move the turn up / down
//   Ctrl+Enter      add a turn below (the other speaker)
//   Alt+Delete      delete the turn        Alt+Z  undo the last of these
const box = document.getElementById("turn-editor");
const area = document.getElementById("transcript");
const out = document.getElementById("turns-json");

if (box && area && out) {
  let turns = [];
  try { turns = JSON.parse(box.dataset.turns || "[]"); } catch { turns = []; }
  const history = [];
  const label = document.querySelector('label[for="transcript"]');

  const el = (tag, props = {}, ...kids) => {
    const e = document.createElement(tag);
    Object.assign(e, props);
    for (const k of kids) e.append(k);
    return e;
  };

  // The server's rules (console_design.rs parse_transcript).
  const parseText = (text) => {
    const result = [];
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trimEnd();
      if (!line.trim()) continue;
      const m = /^\s*([^\s:]{1,24})\s*:(.*)$/u.exec(line);
      if (m) result.push({ speaker: m[1], text: m[2].trim() });
      else if (result.length) result[result.length - 1].text += "\n" + line.trim();
      else result.push({ speaker: "?", text: line.trim() });
    }
    return result;
  };
  const toText = () => turns.map((t) => `${t.speaker}: ${t.text}`).join("\n");
  const sync = () => { out.value = JSON.stringify(turns); };
  const remember = () => {
    history.push(JSON.stringify(turns));
    if (history.length > 100) history.shift();
    undoBtn.disabled = false;
  };
  const speakers = () => [...new Set(turns.map((t) => t.speaker).filter(Boolean))];
  const otherSpeaker = (i) => {
    const s = speakers();
    const cur = turns[i] ? turns[i].speaker : "";
    return s.find((x) => x !== cur) || cur || "T";
  };

  const list = el("ol", { className: "turns", id: "turns" });
  const speakerRow = el("p", { className: "speakers", id: "speakers" });
  const datalist = el("datalist", { id: "speaker-list" });
  const addBtn = el("button", { type: "button", id: "turn-add", textContent: "Add turn" });
  const undoBtn = el("button", { type: "button", id: "turn-undo", textContent: "Undo", disabled: true });
  const modeBtn = el("button", { type: "button", id: "transcript-mode", textContent: "Edit as plain text" });
  const help = el("p", { className: "hint" },
    "Alt+↑/↓ moves a turn, Ctrl+Enter adds one below, Alt+Delete deletes it, Alt+Z undoes. ",
    "Rename a speaker everywhere in the boxes above the turns.");
  box.append(speakerRow, datalist, list, el("div", { className: "nav" }, addBtn, undoBtn, modeBtn), help);

  const focusTurn = (i, part = ".said") => {
    const li = list.children[i];
    if (li) li.querySelector(part).focus();
  };

  const act = (fn, focus) => {
    remember();
    fn();
    render();
    sync();
    if (focus !== undefined) focusTurn(focus);
  };
  const move = (i, d) => {
    const j = i + d;
    if (j < 0 || j >= turns.length) return;
    act(() => { [turns[i], turns[j]] = [turns[j], turns[i]]; }, j);
  };
  const addBelow = (i) => act(() => turns.splice(i + 1, 0, { speaker: otherSpeaker(i), text: "" }), i + 1);
  const remove = (i) => act(() => turns.splice(i, 1), Math.max(0, Math.min(i, turns.length - 2)));

  function renderSpeakers() {
    speakerRow.replaceChildren("Speakers: ");
    datalist.replaceChildren(...speakers().map((s) => el("option", { value: s })));
    for (const s of speakers()) {
      const input = el("input", { type: "text", value: s, size: 6, className: "speaker-name" });
      input.setAttribute("aria-label", `Rename speaker ${s}`);
      input.dataset.speaker = s;
      input.addEventListener("change", () => {
        const to = input.value.trim();
        if (!to || to === s) { input.value = s; return; }
        act(() => turns.forEach((t) => { if (t.speaker === s) t.speaker = to; }));
      });
      speakerRow.append(input, " ");
    }
  }

  function render() {
    renderSpeakers();
    list.replaceChildren(...turns.map((t, i) => {
      const speaker = el("input", { type: "text", value: t.speaker, size: 5, className: "speaker" });
      speaker.setAttribute("list", "speaker-list");
      speaker.setAttribute("aria-label", `Speaker of turn ${i + 1}`);
      const said = el("textarea", { value: t.text, rows: Math.min(6, 1 + Math.ceil(t.text.length / 90)), className: "said" });
      said.setAttribute("aria-label", `Turn ${i + 1}`);
      speaker.addEventListener("input", () => { turns[i].speaker = speaker.value.trim(); sync(); });
      speaker.addEventListener("change", renderSpeakers);
      said.addEventListener("input", () => { turns[i].text = said.value; sync(); });
      const tool = (label, title, fn) => {
        const b = el("button", { type: "button", textContent: label, title });
        b.setAttribute("aria-label", `${title} (turn ${i + 1})`);
        b.addEventListener("click", fn);
        return b;
      };
      const li = el("li", { className: "turn" }, speaker, said,
        el("span", { className: "turn-tools" },
          tool("↑", "Move up", () => move(i, -1)),
          tool("↓", "Move down", () => move(i, 1)),
          tool("+", "Add a turn below", () => addBelow(i)),
          tool("✕", "Delete", () => remove(i))));
      li.addEventListener("keydown", (e) => {
        if (e.altKey && e.key === "ArrowUp") { e.preventDefault(); move(i, -1); }
        else if (e.altKey && e.key === "ArrowDown") { e.preventDefault(); move(i, 1); }
        else if (e.ctrlKey && e.key === "Enter") { e.preventDefault(); addBelow(i); }
        else if (e.altKey && e.key === "Delete") { e.preventDefault(); remove(i); }
      });
      return li;
    }));
  }

  const undo = () => {
    const prev = history.pop();
    if (prev === undefined) return;
    turns = JSON.parse(prev);
    undoBtn.disabled = history.length === 0;
    render();
    sync();
  };
  box.addEventListener("keydown", (e) => {
    if (e.altKey && (e.key === "z" || e.key === "Z")) { e.preventDefault(); undo(); }
  });
  addBtn.addEventListener("click", () => addBelow(turns.length - 1));
  undoBtn.addEventListener("click", undo);

  let textMode = false;
  const showMode = () => {
    box.querySelectorAll(".turns, .speakers").forEach((e) => { e.hidden = textMode; });
    addBtn.hidden = undoBtn.hidden = textMode;
    area.hidden = !textMode;
    if (label) label.hidden = !textMode;
    modeBtn.textContent = textMode ? "Edit turn by turn" : "Edit as plain text";
  };
  modeBtn.addEventListener("click", () => {
    if (textMode) {
      // Back to turns: keep the times of turns that did not change.
      const old = turns;
      turns = parseText(area.value).map((t, i) =>
        old[i] && old[i].speaker === t.speaker && old[i].text === t.text
          ? { ...t, start_ms: old[i].start_ms, end_ms: old[i].end_ms } : t);
      history.length = 0;
      undoBtn.disabled = true;
      textMode = false;
      render();
      sync();
    } else {
      area.value = toText();
      out.value = ""; // the text box is what gets saved now
      textMode = true;
    }
    showMode();
  });

  box.hidden = false;
  render();
  sync();
  showMode();
}
