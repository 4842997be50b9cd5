//! The studio's HTML pages, rendered by Tera from `templates/` with HTML
//! autoescaping (every value from content, records or users is escaped by
//! the engine). This module gathers what the templates show.

use super::PreviewChoices;
use super::files::TreeEntry;
use super::people::Session;
use crate::problem::Problem;
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::LazyLock;
use tessera_content::{Change, Draft, LogEntry, Snapshot};
use tessera_pipeline::StudioRole;

static TEMPLATES: LazyLock<tera::Tera> = LazyLock::new(|| {
    let mut tera = tera::Tera::new();
    tera.add_raw_templates([
        ("top.html", include_str!("templates/top.html")),
        ("log.html", include_str!("templates/log.html")),
        ("preview.html", include_str!("templates/preview.html")),
        ("sign_in.html", include_str!("templates/sign_in.html")),
        ("home.html", include_str!("templates/home.html")),
        ("history.html", include_str!("templates/history.html")),
        ("draft.html", include_str!("templates/draft.html")),
        ("review.html", include_str!("templates/review.html")),
        ("refusal.html", include_str!("templates/refusal.html")),
    ])
    .expect("the studio's own templates compile");
    tera
});

fn render(template: &str, view: Value) -> String {
    let context = tera::Context::from_serialize(&view).expect("the studio's views are maps");
    TEMPLATES.render(template, &context).expect("the studio's templates render their views")
}

fn who(session: &Session) -> Value {
    let role = match session.role {
        StudioRole::Author => "author",
        StudioRole::Approver => "approver",
    };
    json!({ "tenant": session.tenant, "user": session.user, "role": role, "csrf": session.csrf })
}

fn draft_view(d: &Draft) -> Value {
    json!({
        "id": d.id, "tip": d.tip, "state": d.state, "editors": d.editors.join(", "),
        "message": d.message, "comment": d.comment,
    })
}

fn log_view(log: &[LogEntry]) -> Vec<Value> {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    log.iter()
        .map(|e| {
            let when = time::OffsetDateTime::from_unix_timestamp(e.time)
                .ok()
                .and_then(|t| t.format(&format).ok())
                .unwrap_or_default();
            json!({ "short": &e.commit[..12.min(e.commit.len())], "when": when, "author": e.author,
                    "approved_by": e.approved_by.as_deref().unwrap_or("—"), "summary": e.summary })
        })
        .collect()
}

fn choices_view(c: &PreviewChoices) -> Value {
    json!({ "records": c.records, "labels": c.labels, "locales": c.locales, "channels": c.channels })
}

pub(crate) fn sign_in(tenants: &[&String], message: Option<&str>) -> String {
    render("sign_in.html", json!({ "title": "Sign in", "session": null, "tenants": tenants, "message": message }))
}

pub(crate) fn home(session: &Session, drafts: &[Draft], log: &[LogEntry]) -> String {
    let drafts: Vec<Value> = drafts.iter().map(draft_view).collect();
    render("home.html", json!({ "title": "Changes", "session": who(session), "drafts": drafts, "log": log_view(log) }))
}

pub(crate) fn history(session: &Session, log: &[LogEntry]) -> String {
    render(
        "history.html",
        json!({ "title": "History", "session": who(session), "log": log_view(log),
                "published_ref": tessera_content::DEFAULT_PUBLISHED_REF }),
    )
}

pub(crate) fn draft(
    session: &Session,
    draft: &Draft,
    tree: &[TreeEntry],
    changed: &[Change],
    choices: &PreviewChoices,
    own_layer: &str,
) -> String {
    let changed_paths: Vec<String> = changed
        .iter()
        .map(|c| {
            let full = tessera_content::change_path(c);
            full.strip_prefix(&format!("{own_layer}/")).unwrap_or(full).to_owned()
        })
        .collect();
    let tree: Vec<Value> = tree
        .iter()
        .map(|f| {
            json!({ "path": f.path, "own": f.own, "layers": f.layers.join(" → "),
                    "changed": changed_paths.contains(&f.path) })
        })
        .collect();
    render(
        "draft.html",
        json!({ "title": format!("Change {}", draft.id), "session": who(session), "draft": draft_view(draft),
                "tree": tree, "changed": changed_paths, "choices": choices_view(choices), "own_layer": own_layer }),
    )
}

/// One file's differences for the approver.
pub(crate) struct FileDiff {
    path: String,
    kind: &'static str,
    lines: Vec<(&'static str, String)>,
}

impl FileDiff {
    /// `shadowed` is the file a new override hides (the base layer's, for
    /// the same logical path): the diff is against it, which is what the
    /// documents change by.
    pub(crate) fn of(change: &Change, before: &Snapshot, after: &Snapshot, shadowed: Option<&str>) -> FileDiff {
        let (path, kind) = match change {
            Change::Added(p) if shadowed.is_some() => (p, "now overrides the base's"),
            Change::Added(p) => (p, "added"),
            Change::Removed(p) => (p, "removed"),
            Change::Modified(p) => (p, "changed"),
        };
        let old_file = before.get(shadowed.unwrap_or(path));
        let text = |f: Option<&tessera_content::SnapshotFile>| {
            f.map(|f| String::from_utf8_lossy(&f.bytes).into_owned()).unwrap_or_default()
        };
        let (old, new) = (text(old_file), text(after.get(path)));
        let binary = [old_file, after.get(path)].iter().flatten().any(|f| std::str::from_utf8(&f.bytes).is_err());
        let lines = if binary {
            vec![("same", format!("binary file, {} → {} bytes", old.len(), new.len()))]
        } else {
            let diff = similar::TextDiff::from_lines(&old, &new);
            let mut lines = Vec::new();
            for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
                lines.push(("hunk", hunk.header().to_string()));
                lines.extend(hunk.iter_changes().map(|c| {
                    let class = match c.tag() {
                        similar::ChangeTag::Delete => "del",
                        similar::ChangeTag::Insert => "ins",
                        similar::ChangeTag::Equal => "same",
                    };
                    let sign = match c.tag() {
                        similar::ChangeTag::Delete => '-',
                        similar::ChangeTag::Insert => '+',
                        similar::ChangeTag::Equal => ' ',
                    };
                    (class, format!("{sign}{}", c.value().trim_end_matches('\n')))
                }));
            }
            lines
        };
        FileDiff { path: path.clone(), kind, lines }
    }
}

impl FileDiff {
    /// What the templates show of it.
    pub(crate) fn view(&self) -> Value {
        let lines: Vec<Line> = self.lines.iter().map(|(c, t)| Line { class: c, text: t }).collect();
        json!({ "path": self.path, "kind": self.kind, "lines": lines })
    }

    /// Names the diff's side (`the published content since the draft
    /// started`, `this change`) for the conflict page.
    pub(crate) fn titled(mut self, kind: &'static str) -> FileDiff {
        self.kind = kind;
        self
    }
}

#[derive(Serialize)]
struct Line<'a> {
    class: &'a str,
    text: &'a str,
}

pub(crate) fn review(session: &Session, draft: &Draft, diffs: &[FileDiff], choices: &PreviewChoices) -> String {
    let diffs: Vec<Value> = diffs.iter().map(FileDiff::view).collect();
    render(
        "review.html",
        json!({ "title": format!("Review {}", draft.id), "session": who(session), "draft": draft_view(draft),
                "editors": draft.editors.join(", "), "diffs": diffs, "choices": choices_view(choices),
                "own": draft.editors.contains(&session.user), "approver": session.role == StudioRole::Approver }),
    )
}

pub(crate) fn refusal(session: &Session, problem: &Problem, back: Option<&str>) -> String {
    render(
        "refusal.html",
        json!({ "title": "Refused", "session": who(session), "heading": problem.title(), "detail": problem.detail(),
                "paths": problem.extra("paths"), "sides": problem.extra("sides"), "back": back }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        let sessions = super::super::people::Sessions::default();
        sessions.open("acme", "<alice>", StudioRole::Approver, super::super::people::Scope::Tenant).1
    }

    #[test]
    fn every_page_renders_and_escapes_what_users_typed() {
        let s = session();
        let d = Draft {
            tenant: "acme".into(),
            id: "d1".into(),
            tip: "a".repeat(40),
            base: "b".repeat(40),
            state: tessera_content::DraftState::Submitted,
            editors: vec!["<script>".into()],
            message: Some("<b>bold</b>".into()),
            comment: None,
            last_by: "x".into(),
            updated: 0,
        };
        let choices = PreviewChoices {
            records: vec!["r".into()],
            labels: vec![],
            locales: vec![],
            channels: vec!["html".into()],
        };
        let pages = [
            sign_in(&[&"acme".to_owned()], Some("<nope>")),
            home(&s, std::slice::from_ref(&d), &[]),
            history(&s, &[]),
            draft(&s, &d, &[], &[], &choices, "acme/content"),
            review(&s, &d, &[], &choices),
        ];
        for page in pages {
            assert!(!page.contains("<script>") && !page.contains("<b>bold") && !page.contains("<nope>"), "{page}");
            assert!(!page.contains("<alice>"));
        }
    }
}
