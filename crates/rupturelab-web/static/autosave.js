// RuptureLab participant autosave. No build step; loaded as a module from
// 'self' so it satisfies the Content-Security-Policy (no inline script).
// Typing in an answer schedules a save through the JSON API after a short
// pause; leaving the page sends what is pending. The form still works
// without this script: answers then save when Next or Back is pressed.
const form = document.querySelector("form[data-autosave]");
if (form) {
  const url = form.dataset.autosave;
  const csrf = form.dataset.csrf;
  const status = form.querySelector(".save-state");
  const pending = new Map();
  let timer = null;
  let saving = false;

  const show = (state) => {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = status.dataset[state] || "";
  };
  show("idle");

  const answerOf = (el) => {
    const a = { segment: el.dataset.segment || null, question: el.dataset.question };
    if (el.type === "radio") a.value = el.value; else a.text = el.value;
    return a;
  };

  const schedule = (ms) => {
    clearTimeout(timer);
    timer = setTimeout(flush, ms);
  };

  async function flush(keepalive = false) {
    if (pending.size === 0) return;
    if (saving && !keepalive) { schedule(300); return; }
    const answers = [...pending.values()];
    pending.clear();
    saving = true;
    show("saving");
    try {
      const res = await fetch(url, {
        method: "PUT",
        credentials: "same-origin",
        keepalive,
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ answers }),
      });
      if (!res.ok) throw new Error("HTTP " + res.status);
      if (pending.size === 0) show("saved");
    } catch (e) {
      for (const a of answers) {
        const k = (a.segment || "") + "/" + a.question;
        if (!pending.has(k)) pending.set(k, a);
      }
      show("error");
      schedule(3000);
    } finally {
      saving = false;
    }
  }

  const onEdit = (ev) => {
    const el = ev.target;
    if (!el.dataset || !el.dataset.question) return;
    pending.set((el.dataset.segment || "") + "/" + el.dataset.question, answerOf(el));
    show("saving");
    schedule(800);
  };
  form.addEventListener("input", onEdit);
  form.addEventListener("change", onEdit);
  form.addEventListener("submit", () => {
    // The form post carries every answer; nothing left to autosave.
    clearTimeout(timer);
    pending.clear();
  });
  window.addEventListener("pagehide", () => flush(true));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush(true);
  });
}
