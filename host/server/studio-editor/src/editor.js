// The studio's code editor: CodeMirror 6 with HTML, TOML and Tera
// highlighting and the server's content errors as diagnostics. Bundled into
// one file (build.sh); the studio page's script (studio.js) finds it as
// window.TesseraEditor and falls back to a plain text area without it.
import { EditorView, basicSetup } from "codemirror";
import { html } from "@codemirror/lang-html";
import { StreamLanguage } from "@codemirror/language";
import { toml } from "@codemirror/legacy-modes/mode/toml";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { Decoration, MatchDecorator, ViewPlugin } from "@codemirror/view";

// Closing tags are not inserted as you type: authors paste and retype
// whole lines, and a silently doubled `</p>` is worse than a missing one.

// Tera's tags over the HTML: {{ value }}, {% statement %}, {# comment #}.
const teraTags = new MatchDecorator({
  regexp: /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\}/g,
  decoration: (m) => Decoration.mark({ class: m[0].startsWith("{#") ? "cm-tera-comment" : "cm-tera" }),
});
const tera = ViewPlugin.define((view) => ({ decorations: teraTags.createDeco(view),
  update(u) { this.decorations = teraTags.updateDeco(u, this.decorations); } }),
  { decorations: (v) => v.decorations });

const theme = EditorView.theme({
  "&": { height: "100%", fontSize: "13px" },
  ".cm-scroller": { fontFamily: "ui-monospace, monospace" },
  ".cm-tera": { color: "#7a3e9d", backgroundColor: "#f6effa" },
  ".cm-tera-comment": { color: "#7f8694", fontStyle: "italic" },
});

function language(path) {
  if (path.endsWith(".toml")) return [StreamLanguage.define(toml)];
  if (path.endsWith(".html.tera") || path.endsWith(".html") || path.endsWith(".svg")) return [html({ autoCloseTags: false }), tera];
  if (path.endsWith(".tera")) return [tera];
  return [];
}

// Positions from the server are 1-based line and column (characters).
function offset(doc, line, column) {
  const l = doc.line(Math.min(Math.max(line || 1, 1), doc.lines));
  return Math.min(l.from + Math.max((column || 1) - 1, 0), l.to);
}

window.TesseraEditor = {
  create(parent, text, path, onChange) {
    const view = new EditorView({
      doc: text,
      parent,
      extensions: [basicSetup, lintGutter(), theme, ...language(path),
        EditorView.updateListener.of((u) => { if (u.docChanged) onChange(); })],
    });
    return {
      get: () => view.state.doc.toString(),
      diagnostics(list) {
        const doc = view.state.doc;
        const ds = list.map((d) => {
          const from = offset(doc, d.line, d.column);
          return { from, to: Math.min(from + 1, doc.length), severity: "error", message: d.message };
        });
        view.dispatch(setDiagnostics(view.state, ds));
      },
      destroy: () => view.destroy(),
    };
  },
};
