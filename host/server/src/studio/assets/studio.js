// The studio page's behaviour: the file tree, the editor (CodeMirror from
// editor.js, or a plain text area without it), checking as you type,
// saving, the label form, image upload, and the before/after preview.
// Every change sends the session's CSRF token in X-CSRF-Token.
(() => {
  const root = document.getElementById("studio");
  if (!root) return;
  const { tenant, draft, csrf } = root.dataset;
  const base = `/studio/${encodeURIComponent(tenant)}/drafts/${encodeURIComponent(draft)}`;
  const $ = (id) => document.getElementById(id);
  const state = { path: null, editor: null, tip: root.dataset.tip, dirty: false, saves: 0, checks: 0, renders: 0 };
  window.tesseraStudio = state;

  // ---- preview: published (before) and this change (after) side by side
  const pick = $("pick");
  const refreshPreview = (which = ["before", "after"]) => {
    if (!pick) return;
    const q = new URLSearchParams(new FormData(pick));
    for (const id of which) {
      q.set("side", id === "before" ? "published" : "draft");
      q.set("n", String(++state.renders));
      $(id).src = `${base}/render?${q}`;
    }
  };
  if (pick) {
    pick.addEventListener("change", () => refreshPreview());
    refreshPreview();
  }
  if (!$("tree")) return;

  // ---- editing
  const status = (text, cls = "") => { $("status").textContent = text; $("status").className = cls; };
  const showErrors = (errors) => {
    const list = $("errors");
    list.replaceChildren(...errors.map((e) => {
      const li = document.createElement("li");
      const where = e.line ? `${e.path}:${e.line}:${e.column ?? 1}` : e.path || "content";
      li.textContent = `${where}: ${e.message}`;
      return li;
    }));
    const here = errors.filter((e) => e.path === state.path && e.line);
    if (state.editor && state.editor.diagnostics) state.editor.diagnostics(here);
    root.dataset.errors = String(errors.length);
  };
  const send = async (url, method, body, type) => {
    const r = await fetch(url, { method, body, headers: { "X-CSRF-Token": csrf, "Content-Type": type } });
    const json = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(json.detail || `${r.status} ${r.statusText}`);
    return json;
  };
  let timer = null;
  const check = async () => {
    if (!state.editor) return;
    try {
      const result = await send(`${base}/check?path=${encodeURIComponent(state.path)}`, "POST", state.editor.get(), "text/plain");
      state.checks += 1;
      showErrors(result.errors);
      status(result.errors.length ? "does not compile" : (state.dirty ? "unsaved" : "saved"), result.errors.length ? "bad" : "");
    } catch (e) { status(e.message, "bad"); }
  };
  const changed = () => {
    state.dirty = true;
    $("save").disabled = false;
    status("unsaved");
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  };
  // The saved file is now the tenant's own and part of the change.
  const markChanged = (path) => {
    const link = $("tree").querySelector(`a[data-path="${CSS.escape(path)}"]`);
    if (link) link.className = "own changed";
    else {
      const li = document.createElement("li");
      const a = document.createElement("a");
      Object.assign(a, { href: "#", className: "own changed", textContent: path });
      a.dataset.path = path;
      li.append(a);
      $("tree").append(li);
    }
    const list = $("changed");
    if (![...list.querySelectorAll("code")].some((c) => c.textContent === path)) {
      if (!list.querySelector("code")) list.textContent = "";
      const code = document.createElement("code");
      code.textContent = path;
      list.append(code, " ");
    }
  };
  const afterSave = (result, path) => {
    markChanged(path);
    if (path === state.path) $("layer").textContent = "(your layer)";
    state.tip = result.tip;
    state.dirty = false;
    state.saves += 1;
    $("save").disabled = true;
    $("draft-state").textContent = result.state;
    showErrors(result.errors);
    status(result.errors.length ? "saved, but does not compile" : "saved", result.errors.length ? "bad" : "ok");
    refreshPreview(["after"]);
  };
  const open = async (path) => {
    if (state.dirty && !confirm("Discard unsaved changes?")) return;
    const r = await fetch(`${base}/file?path=${encodeURIComponent(path)}`);
    const file = await r.json();
    if (!r.ok) { status(file.detail, "bad"); return; }
    state.path = path;
    state.dirty = false;
    $("path").textContent = path;
    $("layer").textContent = file.own ? "(your layer)" : `(from ${file.layer}: saving makes your copy)`;
    const host = $("editor");
    if (state.editor && state.editor.destroy) state.editor.destroy();
    host.replaceChildren();
    state.editor = null;
    $("label").hidden = true;
    $("save").disabled = true;
    if (file.label) showLabelForm(file.label);
    if (file.text === null) { host.textContent = `${file.bytes} bytes (replace it with an upload)`; return; }
    if (window.TesseraEditor) {
      state.editor = window.TesseraEditor.create(host, file.text, path, changed);
    } else {
      const area = document.createElement("textarea");
      area.value = file.text;
      area.spellcheck = false;
      area.addEventListener("input", changed);
      host.append(area);
      state.editor = { get: () => area.value };
    }
    status("");
    showErrors([]);
    root.dataset.open = path;
  };
  $("tree").addEventListener("click", (e) => {
    const a = e.target.closest("a[data-path]");
    if (!a) return;
    e.preventDefault();
    open(a.dataset.path);
  });
  $("save").addEventListener("click", async () => {
    if (!state.editor) return;
    try {
      const url = `${base}/file?path=${encodeURIComponent(state.path)}&tip=${state.tip}`;
      afterSave(await send(url, "PUT", state.editor.get(), "text/plain; charset=utf-8"), state.path);
    } catch (e) { status(e.message, "bad"); }
  });

  // ---- brand labels: a form over the label's fields
  const showLabelForm = (fields) => {
    const form = $("label");
    form.hidden = false;
    form.replaceChildren();
    for (const [key, value] of Object.entries(fields)) {
      const label = document.createElement("label");
      label.textContent = key + " ";
      const input = document.createElement(value.includes("\n") || /legal|address/.test(key) ? "textarea" : "input");
      input.name = key;
      input.value = value;
      if (input.tagName === "TEXTAREA") input.rows = Math.max(2, value.split("\n").length);
      if (/colou?r/.test(key) && /^#[0-9a-f]{6}$/i.test(value)) input.type = "color";
      label.append(input);
      form.append(label);
    }
    const button = document.createElement("button");
    button.textContent = "Save label";
    form.append(button);
  };
  $("label").addEventListener("submit", async (e) => {
    e.preventDefault();
    const fields = Object.fromEntries(new FormData(e.target));
    try {
      const url = `${base}/label?path=${encodeURIComponent(state.path)}&tip=${state.tip}`;
      afterSave(await send(url, "POST", JSON.stringify(fields), "application/json"), state.path);
      const path = state.path;
      state.path = null;
      await open(path);
    } catch (err) { status(err.message, "bad"); }
  });

  // ---- image upload
  $("upload").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    const file = form.elements.file.files[0];
    if (!file) return;
    let path = form.elements.path.value.trim();
    if (path.endsWith("/")) path += file.name;
    try {
      const url = `${base}/file?path=${encodeURIComponent(path)}&tip=${state.tip}`;
      afterSave(await send(url, "PUT", file, file.type || "application/octet-stream"), path);
      status(`uploaded ${path}`, "ok");
    } catch (err) { status(err.message, "bad"); }
  });
})();
