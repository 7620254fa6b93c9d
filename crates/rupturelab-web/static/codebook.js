// RuptureLab codebook editor. No build step; loaded as a module from 'self'
// (the Content-Security-Policy allows no inline script). The page lists the
// codes; this script selects them, edits them through the JSON API
// (session cookie + X-CSRF-Token) and reloads the page after each change,
// keeping the selection. Keyboard: ↑/↓ select, Alt+↑/↓ reorder,
// Alt+←/→ outdent/indent, F2 edit, Delete delete, Insert add a sub-code.
const root = document.querySelector("[data-codebook]");
if (root) {
  const api = root.dataset.api;
  const csrf = root.dataset.csrf;
  const readonly = root.hasAttribute("data-readonly");
  const tree = document.getElementById("tree");
  const items = [...tree.querySelectorAll("li[role=treeitem]")];
  const status = document.getElementById("status");
  const editor = document.getElementById("editor");
  let selected = null;

  for (const li of items) {
    const sw = li.querySelector(".swatch");
    if (sw && /^#[0-9A-Fa-f]{6}$/.test(li.dataset.colour || "")) sw.style.backgroundColor = li.dataset.colour;
  }

  const say = (text, bad = false) => {
    status.textContent = text;
    status.classList.toggle("bad", bad);
  };

  async function call(method, path, body) {
    const res = await fetch(api + path, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return null;
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) throw new Error((data && data.error) || "HTTP " + res.status);
    return data;
  }

  // After a change: reload, keep the selection and show what happened.
  const reload = (id, message, undo) => {
    sessionStorage.setItem("codebook.after", JSON.stringify({ id, message, undo }));
    location.reload();
  };

  const fill = (li) => {
    if (!editor) return;
    editor.hidden = false;
    document.getElementById("editor-title").textContent = li.dataset.path;
    const f = editor.elements;
    f.key.value = li.dataset.key;
    f.name.value = li.dataset.name;
    f.colour.value = li.dataset.colour;
    f.codable.checked = li.dataset.codable === "true";
    for (const k of ["definition", "inclusion", "exclusion", "example"]) f[k].value = li.dataset[k];
    const into = document.getElementById("merge-into");
    into.replaceChildren();
    const below = li.dataset.path + "/";
    for (const o of items) {
      if (o === li || o.dataset.path.startsWith(below)) continue;
      const opt = document.createElement("option");
      opt.value = o.dataset.id;
      opt.textContent = o.dataset.path;
      into.append(opt);
    }
    document.getElementById("confirm-delete").hidden = true;
  };

  const select = (li, focus = true) => {
    if (!li) return;
    if (selected) selected.setAttribute("aria-selected", "false");
    selected = li;
    li.setAttribute("aria-selected", "true");
    if (focus) li.focus();
    fill(li);
  };

  const move = async (direction) => {
    if (!selected || readonly) return;
    try {
      await call("POST", `/codes/${selected.dataset.id}/move`, { direction });
      reload(selected.dataset.id, `Moved ${selected.dataset.path} ${direction}.`);
    } catch (e) { say(e.message, true); }
  };

  const askDelete = async () => {
    if (!selected || readonly) return;
    try {
      const i = await call("GET", `/codes/${selected.dataset.id}/impact`);
      document.getElementById("impact").textContent =
        `Delete ${selected.dataset.path}: ${i.codes} code(s), ${i.codings} coding(s) and ${i.memos} memo(s) go with it (you can undo).`;
      document.getElementById("confirm-delete").hidden = false;
      document.getElementById("delete-yes").focus();
    } catch (e) { say(e.message, true); }
  };

  tree.addEventListener("click", (ev) => {
    const li = ev.target.closest("li[role=treeitem]");
    if (li) select(li);
  });
  tree.addEventListener("keydown", (ev) => {
    const i = selected ? items.indexOf(selected) : -1;
    if (ev.altKey && ev.key === "ArrowUp") { ev.preventDefault(); move("up"); }
    else if (ev.altKey && ev.key === "ArrowDown") { ev.preventDefault(); move("down"); }
    else if (ev.altKey && ev.key === "ArrowLeft") { ev.preventDefault(); move("outdent"); }
    else if (ev.altKey && ev.key === "ArrowRight") { ev.preventDefault(); move("indent"); }
    else if (ev.key === "ArrowDown") { ev.preventDefault(); select(items[Math.min(i + 1, items.length - 1)]); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); select(items[Math.max(i - 1, 0)]); }
    else if (ev.key === "Home") { ev.preventDefault(); select(items[0]); }
    else if (ev.key === "End") { ev.preventDefault(); select(items[items.length - 1]); }
    else if (ev.key === "F2" && editor) { ev.preventDefault(); editor.elements.name.focus(); }
    else if (ev.key === "Delete") { ev.preventDefault(); askDelete(); }
    else if (ev.key === "Insert" && editor) { ev.preventDefault(); editor.elements.child.focus(); }
  });

  if (editor && !readonly) {
    editor.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!selected) return;
      const f = editor.elements;
      const body = {
        key: f.key.value, name: f.name.value, codable: f.codable.checked,
        definition: f.definition.value, inclusion: f.inclusion.value,
        exclusion: f.exclusion.value, example: f.example.value, colour: f.colour.value,
      };
      try {
        const c = await call("PUT", `/codes/${selected.dataset.id}`, body);
        reload(c.id, `Saved ${c.path}.`);
      } catch (e) { say(e.message, true); }
    });
    for (const b of editor.querySelectorAll("[data-move]")) {
      b.addEventListener("click", () => move(b.dataset.move));
    }
    document.getElementById("add-child").addEventListener("click", async () => {
      const key = editor.elements.child.value.trim();
      if (!selected || !key) { say("Type the new sub-code's key first.", true); return; }
      try {
        const c = await call("POST", "/codes", { parent: Number(selected.dataset.id), key, name: key });
        reload(c.id, `Added ${c.path}.`);
      } catch (e) { say(e.message, true); }
    });
    document.getElementById("merge").addEventListener("click", async () => {
      const into = document.getElementById("merge-into");
      if (!selected || !into.value) return;
      const target = into.options[into.selectedIndex].textContent;
      try {
        const r = await call("POST", `/codes/${selected.dataset.id}/merge`, { into: Number(into.value) });
        reload(into.value, `Merged ${selected.dataset.path} into ${target}: ${r.moved} coding(s) moved, ${r.collapsed} duplicate(s) collapsed.`);
      } catch (e) { say(e.message, true); }
    });
    document.getElementById("delete").addEventListener("click", askDelete);
    document.getElementById("delete-no").addEventListener("click", () => {
      document.getElementById("confirm-delete").hidden = true;
    });
    document.getElementById("delete-yes").addEventListener("click", async () => {
      try {
        const d = await call("DELETE", `/codes/${selected.dataset.id}`);
        reload(null, `Deleted ${d.path} (${d.codes} code(s), ${d.codings} coding(s)).`, d.deletion);
      } catch (e) { say(e.message, true); }
    });
  }

  const addCategory = document.getElementById("add-category");
  if (addCategory) {
    addCategory.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const key = addCategory.elements.key.value.trim();
      try {
        const c = await call("POST", "/codes", { parent: null, key, name: key, codable: false });
        reload(c.id, `Added ${c.path}.`);
      } catch (e) { say(e.message, true); }
    });
  }

  // What the last change did, with Undo after a deletion.
  const after = JSON.parse(sessionStorage.getItem("codebook.after") || "null");
  sessionStorage.removeItem("codebook.after");
  if (after) {
    say(after.message || "");
    if (after.undo) {
      const b = document.createElement("button");
      b.type = "button";
      b.id = "undo";
      b.textContent = "Undo";
      b.addEventListener("click", async () => {
        try {
          const r = await call("POST", `/deletions/${after.undo}/undo`);
          reload(null, `Restored ${r.path}.`);
        } catch (e) { say(e.message, true); }
      });
      status.append(" ", b);
    }
  }
  const keep = after && after.id ? items.find((li) => li.dataset.id === String(after.id)) : null;
  if (keep) select(keep);
  else if (items.length && !readonly) select(items[0], false);
}
