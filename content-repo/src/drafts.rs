//! Change sets ("drafts"): an author's edits kept in git beside the
//! published content until a second person approves them.
//!
//! A draft is a ref, `refs/tessera/drafts/<tenant>/<id>`, pointing at a
//! chain of commits. Its first commit has the published commit it started
//! from as parent and the same tree; every save, submit or send-back is one
//! more commit on top. The draft's state travels in trailers of the tip's
//! message (`Tessera-Base`, `Tessera-State`, `Tessera-Editor`, …), so plain
//! `git log refs/tessera/drafts/acme-energy/…` shows all of it and nothing
//! else is stored anywhere.
//!
//! Approving writes a commit on the published ref whose tree is the
//! published tree with the draft's changes applied, with the draft's tip as
//! second parent (its history stays reachable), the first editor as git
//! author, the approver as committer, and `Tessera-Author:` /
//! `Tessera-Approved-By:` trailers; then the draft ref is deleted. When the
//! published ref moved since the draft started, files changed on both sides
//! are a conflict and nothing is written: the draft must be rebased (which
//! refuses the same way) and changed again.

use crate::repo::{ContentRepo, RepoError, git, join, oid, signature_for};
use crate::snapshot::Snapshot;
use gix::bstr::ByteSlice;
use gix::refs::transaction::PreviousValue;
use std::collections::BTreeMap;
use std::io::ErrorKind::NotFound;

/// Where drafts live.
pub const DRAFTS_REF_PREFIX: &str = "refs/tessera/drafts";

/// Where a draft is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DraftState {
    /// Being edited; not yet asking for approval.
    Editing,
    /// Asking for approval.
    Submitted,
    /// Sent back by an approver with a comment.
    Returned,
}

impl DraftState {
    fn as_str(self) -> &'static str {
        match self {
            DraftState::Editing => "editing",
            DraftState::Submitted => "submitted",
            DraftState::Returned => "returned",
        }
    }

    fn parse(text: &str) -> Option<DraftState> {
        match text {
            "editing" => Some(DraftState::Editing),
            "submitted" => Some(DraftState::Submitted),
            "returned" => Some(DraftState::Returned),
            _ => None,
        }
    }
}

/// One draft, as its tip commit describes it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Draft {
    /// The tenant whose layer it changes.
    pub tenant: String,
    /// Its id (unique within the tenant).
    pub id: String,
    /// The commit its ref points to.
    pub tip: String,
    /// The published commit it started from (or was last rebased onto).
    pub base: String,
    /// Where it is.
    pub state: DraftState,
    /// Everyone who changed a file in it, first editor first: none of them
    /// may approve it.
    pub editors: Vec<String>,
    /// The author's message, once submitted.
    pub message: Option<String>,
    /// The approver's comment, once sent back.
    pub comment: Option<String>,
    /// Who did the last step.
    pub last_by: String,
    /// When, seconds since the epoch.
    pub updated: i64,
}

impl Draft {
    /// The draft's ref.
    pub fn reference(&self) -> String {
        draft_ref(&self.tenant, &self.id)
    }
}

/// One file change in a save: new bytes, or `None` to delete the file.
pub type FileEdit = (String, Option<Vec<u8>>);

fn draft_ref(tenant: &str, id: &str) -> String {
    format!("{DRAFTS_REF_PREFIX}/{tenant}/{id}")
}

/// A tenant or draft id git accepts as one ref component and a URL
/// accepts unescaped.
fn check_name(what: &'static str, name: &str) -> Result<(), RepoError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !name.starts_with('-');
    if ok { Ok(()) } else { Err(RepoError::Draft(format!("{what} `{name}` must be letters, digits, `-` or `_`"))) }
}

/// A trailer value on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `Key: value` lines of a message's last paragraph, in order.
pub fn trailers(message: &str) -> Vec<(String, String)> {
    let last = message.trim_end().rsplit("\n\n").next().unwrap_or("");
    last.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(": ")?;
            (key.starts_with("Tessera-") && !key.contains(' ')).then(|| (key.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

fn trailer<'a>(all: &'a [(String, String)], key: &str) -> Option<&'a str> {
    all.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A commit's files with their blob ids.
type Blobs = BTreeMap<String, String>;

impl ContentRepo {
    /// The tenant's drafts, newest first.
    pub fn drafts(&self, tenant: &str) -> Result<Vec<Draft>, RepoError> {
        check_name("tenant", tenant)?;
        let g = self.git_location()?;
        let repo = g.repo.to_thread_local();
        let prefix = format!("{DRAFTS_REF_PREFIX}/{tenant}/");
        let listing = |e: &dyn std::fmt::Display| RepoError::Git { action: "list refs", message: e.to_string() };
        let platform = repo.references().map_err(|e| listing(&e))?;
        let iter = platform.prefixed(prefix.as_bytes().as_bstr()).map_err(|e| listing(&e))?;
        let mut tips = Vec::new();
        for reference in iter {
            let mut reference = match reference {
                Ok(reference) => reference,
                // The folder is read first and each file after: a draft
                // approved or discarded in between has no file any more,
                // and is no draft now.
                Err(e) if e.downcast_any_ref::<std::io::Error>().is_some_and(|io| io.kind() == NotFound) => continue,
                Err(e) => return Err(listing(&e)),
            };
            let name = reference.name().as_bstr().to_str_lossy().into_owned();
            let Some(id) = name.strip_prefix(&prefix) else { continue };
            let tip = reference.peel_to_id().map_err(git("peel reference"))?.to_string();
            tips.push((id.to_owned(), tip));
        }
        let mut out = Vec::new();
        for (id, tip) in tips {
            out.push(self.describe_draft(tenant, &id, &tip)?);
        }
        out.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| b.id.cmp(&a.id)));
        Ok(out)
    }

    /// One draft.
    pub fn draft(&self, tenant: &str, id: &str) -> Result<Draft, RepoError> {
        check_name("tenant", tenant)?;
        check_name("draft", id)?;
        let tip = self.draft_tip(tenant, id)?;
        self.describe_draft(tenant, id, &tip)
    }

    /// Starts a draft from the published content; `editor` is who asked.
    pub fn start_draft(&self, tenant: &str, published_ref: &str, editor: &str) -> Result<Draft, RepoError> {
        check_name("tenant", tenant)?;
        let base = self.published(published_ref)?.ok_or_else(|| RepoError::NotPublished(published_ref.into()))?;
        let repo = self.git_location()?.repo.to_thread_local();
        let tree = repo.find_commit(oid(&base)?).map_err(git("read commit"))?.tree_id().map_err(git("read tree"))?;
        // Ids sort by time and stay unique when two drafts start in the same millisecond.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let mut id = format!("d{}", now.as_millis());
        let mut n = 1;
        while self.draft_tip(tenant, &id).is_ok() {
            n += 1;
            id = format!("d{}-{n}", now.as_millis());
        }
        let meta = Meta {
            base: base.clone(),
            state: DraftState::Editing,
            editors: Vec::new(),
            message: None,
            comment: None,
            by: editor.to_owned(),
        };
        self.write_draft_commit(tenant, &id, None, &format!("Start draft {id}"), tree.detach(), &[oid(&base)?], &meta)?;
        self.draft(tenant, &id)
    }

    /// The draft's files under `dirs` (relative to the content folder).
    pub fn draft_snapshot(&self, draft: &Draft, dirs: &[String]) -> Result<Snapshot, RepoError> {
        self.snapshot(&draft.tip, "", dirs)
    }

    /// Saves file edits (paths relative to the content folder) as one commit
    /// on the draft. `expected_tip` guards against two tabs overwriting each
    /// other: when given, the draft must still be there. Editing a submitted
    /// or returned draft puts it back to editing.
    pub fn save_draft(
        &self,
        draft: &Draft,
        editor: &str,
        edits: &[FileEdit],
        summary: &str,
    ) -> Result<Draft, RepoError> {
        let g = self.git_location()?;
        let repo = g.repo.to_thread_local();
        let tip_tree =
            repo.find_commit(oid(&draft.tip)?).map_err(git("read commit"))?.tree_id().map_err(git("read tree"))?;
        let mut editor_tree = repo.edit_tree(tip_tree).map_err(git("edit tree"))?;
        for (path, bytes) in edits {
            let full = join(&g.prefix, path);
            match bytes {
                Some(bytes) => {
                    let blob = repo.write_blob(bytes).map_err(git("write blob"))?;
                    editor_tree
                        .upsert(full.as_str(), gix::object::tree::EntryKind::Blob, blob.detach())
                        .map_err(git("edit tree"))?;
                }
                None => {
                    editor_tree.remove(full.as_str()).map_err(git("edit tree"))?;
                }
            }
        }
        let tree = editor_tree.write().map_err(git("write tree"))?.detach();
        let mut meta = Meta::of(draft, editor);
        meta.state = DraftState::Editing;
        if !meta.editors.iter().any(|e| e == editor) {
            meta.editors.push(editor.to_owned());
        }
        self.write_draft_commit(&draft.tenant, &draft.id, Some(&draft.tip), summary, tree, &[oid(&draft.tip)?], &meta)?;
        self.draft(&draft.tenant, &draft.id)
    }

    /// Asks for approval with `message` (the published commit's message).
    pub fn submit_draft(&self, draft: &Draft, by: &str, message: &str) -> Result<Draft, RepoError> {
        let message = one_line(message);
        if message.is_empty() {
            return Err(RepoError::Draft("a submitted change needs a message saying what it changes".into()));
        }
        if self.draft_changes(draft)?.is_empty() {
            return Err(RepoError::Draft("the draft changes nothing yet".into()));
        }
        let mut meta = Meta::of(draft, by);
        meta.state = DraftState::Submitted;
        meta.message = Some(message.clone());
        meta.comment = None;
        self.restate(draft, &format!("Submit: {message}"), meta)
    }

    /// Sends a submitted draft back to its authors with a comment.
    pub fn return_draft(&self, draft: &Draft, by: &str, comment: &str) -> Result<Draft, RepoError> {
        if draft.state != DraftState::Submitted {
            return Err(RepoError::Draft(format!("draft {} is not submitted", draft.id)));
        }
        let mut meta = Meta::of(draft, by);
        meta.state = DraftState::Returned;
        meta.comment = Some(one_line(comment));
        self.restate(draft, &format!("Sent back by {by}"), meta)
    }

    /// Throws a draft away (its commits stay in git until garbage collection).
    pub fn discard_draft(&self, draft: &Draft) -> Result<(), RepoError> {
        let repo = self.git_location()?.repo.to_thread_local();
        let reference = repo.find_reference(draft.reference().as_str()).map_err(git("find reference"))?;
        reference.delete().map_err(git("delete reference"))
    }

    /// Files the draft changes against its base (paths relative to the content folder).
    pub fn draft_changes(&self, draft: &Draft) -> Result<Vec<crate::Change>, RepoError> {
        Ok(crate::repo::blob_changes(&self.blobs(&draft.base)?, &self.blobs(&draft.tip)?))
    }

    /// Moves the draft onto the published commit now, keeping its changes;
    /// refused with the paths changed on both sides.
    pub fn rebase_draft(&self, draft: &Draft, by: &str, published_ref: &str) -> Result<Draft, RepoError> {
        let published = self.published(published_ref)?.ok_or_else(|| RepoError::NotPublished(published_ref.into()))?;
        if published == draft.base {
            return Ok(draft.clone());
        }
        let tree = self.merged_tree(draft, &published)?;
        let mut meta = Meta::of(draft, by);
        meta.base = published.clone();
        let short = &published[..12];
        self.write_draft_commit(
            &draft.tenant,
            &draft.id,
            Some(&draft.tip),
            &format!("Rebase onto {short}"),
            tree,
            &[oid(&draft.tip)?, oid(&published)?],
            &meta,
        )?;
        self.draft(&draft.tenant, &draft.id)
    }

    /// Publishes a submitted draft: never by one of its editors, and never
    /// over a file the published content changed meanwhile.
    pub fn approve_draft(
        &self,
        draft: &Draft,
        approver: &str,
        published_ref: &str,
    ) -> Result<crate::Published, RepoError> {
        if draft.state != DraftState::Submitted {
            return Err(RepoError::Draft(format!("draft {} is not submitted", draft.id)));
        }
        if draft.editors.iter().any(|e| e == approver) {
            return Err(RepoError::OwnChange { user: approver.to_owned(), draft: draft.id.clone() });
        }
        let published = self.published(published_ref)?.ok_or_else(|| RepoError::NotPublished(published_ref.into()))?;
        let tree = self.merged_tree(draft, &published)?;
        let changes = crate::repo::blob_changes(&self.blobs(&published)?, &self.tree_blob_ids(tree)?);
        if changes.is_empty() {
            return Err(RepoError::Unchanged(format!(
                "draft {} changes nothing the published content lacks",
                draft.id
            )));
        }
        let repo = self.git_location()?.repo.to_thread_local();
        let authors = draft.editors.join(", ");
        let message = format!(
            "{}\n\nTessera-Tenant: {}\nTessera-Draft: {}\nTessera-Author: {authors}\nTessera-Approved-By: {approver}\n",
            draft.message.as_deref().unwrap_or("Approved change"),
            draft.tenant,
            draft.id,
        );
        let author = signature_for(draft.editors.first().map_or(approver, String::as_str), &draft.tenant);
        let committer = signature_for(approver, &draft.tenant);
        let (mut t1, mut t2) = (gix::date::parse::TimeBuf::default(), gix::date::parse::TimeBuf::default());
        let commit = repo
            .new_commit_as(
                committer.to_ref(&mut t1),
                author.to_ref(&mut t2),
                message,
                tree,
                [oid(&published)?, oid(&draft.tip)?],
            )
            .map_err(git("commit"))?
            .id;
        // Only if nobody published meanwhile: otherwise this approval was
        // checked against a stale base and must be tried again.
        repo.reference(
            published_ref,
            commit,
            PreviousValue::MustExistAndMatch(gix::refs::Target::Object(oid(&published)?)),
            format!("tessera: approve draft {} by {approver}", draft.id),
        )
        .map_err(|e| RepoError::Draft(format!("the published content moved while approving; try again ({e})")))?;
        self.discard_draft(draft)?;
        Ok(crate::Published { commit: commit.to_string(), previous: Some(published), changes })
    }

    /// The published tree with the draft's changes applied; a file the
    /// draft changed that also changed on the published side since the
    /// draft's base (to other bytes) is a conflict.
    fn merged_tree(&self, draft: &Draft, published: &str) -> Result<gix::ObjectId, RepoError> {
        let g = self.git_location()?;
        let repo = g.repo.to_thread_local();
        let base = self.blobs(&draft.base)?;
        let ours = self.blobs(&draft.tip)?;
        let theirs = self.blobs(published)?;
        let mut conflicts = Vec::new();
        let mut edits = Vec::new();
        let paths: std::collections::BTreeSet<&String> = base.keys().chain(ours.keys()).collect();
        for path in paths {
            let (b, o, t) = (base.get(path), ours.get(path), theirs.get(path));
            if b == o {
                continue;
            }
            if t != b && t != o {
                conflicts.push(path.clone());
                continue;
            }
            edits.push((path.clone(), o.cloned()));
        }
        if !conflicts.is_empty() {
            return Err(RepoError::Conflict {
                draft: draft.id.clone(),
                published: published.to_owned(),
                paths: conflicts,
            });
        }
        let published_tree =
            repo.find_commit(oid(published)?).map_err(git("read commit"))?.tree_id().map_err(git("read tree"))?;
        let mut editor = repo.edit_tree(published_tree).map_err(git("edit tree"))?;
        for (path, blob) in edits {
            let full = join(&g.prefix, &path);
            match blob {
                Some(blob) => editor
                    .upsert(full.as_str(), gix::object::tree::EntryKind::Blob, oid(&blob)?)
                    .map_err(git("edit tree"))?,
                None => editor.remove(full.as_str()).map_err(git("edit tree"))?,
            };
        }
        Ok(editor.write().map_err(git("write tree"))?.detach())
    }

    /// Every file of a commit's content folder with its blob id (no blob is read).
    fn blobs(&self, commit: &str) -> Result<Blobs, RepoError> {
        let repo = self.git_location()?.repo.to_thread_local();
        let tree = repo.find_commit(oid(commit)?).map_err(git("read commit"))?.tree_id().map_err(git("read tree"))?;
        self.tree_blob_ids(tree.detach())
    }

    fn draft_tip(&self, tenant: &str, id: &str) -> Result<String, RepoError> {
        let repo = self.git_location()?.repo.to_thread_local();
        let name = draft_ref(tenant, id);
        let mut reference = repo
            .try_find_reference(name.as_str())
            .map_err(git("find reference"))?
            .ok_or_else(|| RepoError::UnknownDraft { tenant: tenant.to_owned(), id: id.to_owned() })?;
        Ok(reference.peel_to_id().map_err(git("peel reference"))?.to_string())
    }

    fn describe_draft(&self, tenant: &str, id: &str, tip: &str) -> Result<Draft, RepoError> {
        let repo = self.git_location()?.repo.to_thread_local();
        let commit = repo.find_commit(oid(tip)?).map_err(git("read commit"))?;
        let message = commit.message_raw().map_err(git("read message"))?.to_str_lossy().into_owned();
        let time = commit.time().map_err(git("read time"))?.seconds;
        let all = trailers(&message);
        let broken = || RepoError::Draft(format!("draft {id}: its tip {tip} lacks the Tessera-Base trailer"));
        Ok(Draft {
            tenant: tenant.to_owned(),
            id: id.to_owned(),
            tip: tip.to_owned(),
            base: trailer(&all, "Tessera-Base").ok_or_else(broken)?.to_owned(),
            state: trailer(&all, "Tessera-State").and_then(DraftState::parse).unwrap_or(DraftState::Editing),
            editors: all.iter().filter(|(k, _)| k == "Tessera-Editor").map(|(_, v)| v.clone()).collect(),
            message: trailer(&all, "Tessera-Message").map(str::to_owned),
            comment: trailer(&all, "Tessera-Comment").map(str::to_owned),
            last_by: trailer(&all, "Tessera-By").unwrap_or_default().to_owned(),
            updated: time,
        })
    }

    fn restate(&self, draft: &Draft, summary: &str, meta: Meta) -> Result<Draft, RepoError> {
        let repo = self.git_location()?.repo.to_thread_local();
        let tree =
            repo.find_commit(oid(&draft.tip)?).map_err(git("read commit"))?.tree_id().map_err(git("read tree"))?;
        self.write_draft_commit(
            &draft.tenant,
            &draft.id,
            Some(&draft.tip),
            summary,
            tree.detach(),
            &[oid(&draft.tip)?],
            &meta,
        )?;
        self.draft(&draft.tenant, &draft.id)
    }

    /// Writes a commit with the draft's trailers and moves the draft ref,
    /// only from `previous` (or creating it): a concurrent step is refused
    /// rather than lost.
    #[allow(clippy::too_many_arguments)]
    fn write_draft_commit(
        &self,
        tenant: &str,
        id: &str,
        previous: Option<&str>,
        summary: &str,
        tree: gix::ObjectId,
        parents: &[gix::ObjectId],
        meta: &Meta,
    ) -> Result<(), RepoError> {
        let repo = self.git_location()?.repo.to_thread_local();
        let mut message = format!("{}\n\n", one_line(summary));
        message.push_str(&format!("Tessera-Tenant: {tenant}\nTessera-Draft: {id}\nTessera-Base: {}\n", meta.base));
        message.push_str(&format!("Tessera-State: {}\n", meta.state.as_str()));
        for editor in &meta.editors {
            message.push_str(&format!("Tessera-Editor: {}\n", one_line(editor)));
        }
        if let Some(m) = &meta.message {
            message.push_str(&format!("Tessera-Message: {m}\n"));
        }
        if let Some(c) = &meta.comment {
            message.push_str(&format!("Tessera-Comment: {c}\n"));
        }
        message.push_str(&format!("Tessera-By: {}\n", one_line(&meta.by)));
        let who = signature_for(&meta.by, tenant);
        let mut t = gix::date::parse::TimeBuf::default();
        let who = who.to_ref(&mut t);
        let commit = repo.new_commit_as(who, who, message, tree, parents.iter().copied()).map_err(git("commit"))?.id;
        let constraint = match previous {
            Some(p) => PreviousValue::MustExistAndMatch(gix::refs::Target::Object(oid(p)?)),
            None => PreviousValue::MustNotExist,
        };
        repo.reference(draft_ref(tenant, id).as_str(), commit, constraint, format!("tessera: {}", one_line(summary)))
            .map_err(|e| RepoError::Draft(format!("draft {id} changed meanwhile (reload it and try again): {e}")))?;
        Ok(())
    }
}

/// The trailers a draft commit carries.
struct Meta {
    base: String,
    state: DraftState,
    editors: Vec<String>,
    message: Option<String>,
    comment: Option<String>,
    by: String,
}

impl Meta {
    fn of(draft: &Draft, by: &str) -> Meta {
        Meta {
            base: draft.base.clone(),
            state: draft.state,
            editors: draft.editors.clone(),
            message: draft.message.clone(),
            comment: draft.comment.clone(),
            by: by.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_with(files: &[(&str, &str)]) -> (tempfile::TempDir, ContentRepo) {
        let dir = tempfile::tempdir().unwrap();
        gix::init(dir.path()).unwrap();
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        let repo = ContentRepo::open(dir.path()).unwrap();
        repo.publish(crate::DEFAULT_PUBLISHED_REF, "first").unwrap();
        (dir, repo)
    }

    const PUB: &str = crate::DEFAULT_PUBLISHED_REF;

    fn text(repo: &ContentRepo, rev: &str, path: &str) -> Option<String> {
        let snap = repo.snapshot(rev, PUB, &[String::new()]).unwrap();
        snap.get(path).map(|f| String::from_utf8(f.bytes.to_vec()).unwrap())
    }

    fn edit(path: &str, text: &str) -> FileEdit {
        (path.to_owned(), Some(text.as_bytes().to_vec()))
    }

    #[test]
    fn save_submit_approve_publishes_with_author_and_approver() {
        let (_dir, repo) = repo_with(&[("t/content/fragments/footer.html.tera", "old"), ("t/content/x.txt", "x")]);
        let start = repo.published(PUB).unwrap().unwrap();
        let draft = repo.start_draft("acme", PUB, "alice").unwrap();
        assert_eq!((draft.base.as_str(), draft.state), (start.as_str(), DraftState::Editing));
        let draft = repo
            .save_draft(&draft, "alice", &[edit("t/content/fragments/footer.html.tera", "new")], "Edit footer")
            .unwrap();
        assert_eq!(draft.editors, ["alice"]);
        // Saved in the draft only: the published content is unchanged.
        assert_eq!(text(&repo, "published", "t/content/fragments/footer.html.tera").as_deref(), Some("old"));
        assert_eq!(text(&repo, &draft.tip, "t/content/fragments/footer.html.tera").as_deref(), Some("new"));
        let draft = repo.submit_draft(&draft, "alice", "New footer\nfor winter").unwrap();
        assert_eq!((draft.state, draft.message.as_deref()), (DraftState::Submitted, Some("New footer for winter")));
        assert_eq!(repo.drafts("acme").unwrap().len(), 1);

        let err = repo.approve_draft(&draft, "alice", PUB).unwrap_err();
        assert!(matches!(err, RepoError::OwnChange { .. }), "{err}");
        let published = repo.approve_draft(&draft, "bob", PUB).unwrap();
        assert_eq!(published.previous.as_deref(), Some(start.as_str()));
        assert_eq!(published.changes, [crate::Change::Modified("t/content/fragments/footer.html.tera".into())]);
        assert_eq!(text(&repo, "published", "t/content/fragments/footer.html.tera").as_deref(), Some("new"));
        assert!(repo.drafts("acme").unwrap().is_empty(), "an approved draft's ref is gone");
        let log = repo.log(PUB, None, 10).unwrap();
        assert_eq!((log[0].author.as_str(), log[0].approved_by.as_deref()), ("alice", Some("bob")));
        assert_eq!(log[0].summary, "New footer for winter");
        assert_eq!(log[1].approved_by, None);
    }

    /// Regression (seen in CI twice): listing drafts while another session
    /// started or discarded one failed with "Could not read reference".
    /// Looking again (the first fix) only made it rarer; a draft whose file
    /// is gone is now simply not listed.
    #[test]
    fn listing_drafts_while_others_come_and_go_never_fails() {
        let (dir, repo) = repo_with(&[("a.txt", "a")]);
        let path = dir.path().to_path_buf();
        let churn = std::thread::spawn(move || {
            let other = ContentRepo::open(&path).unwrap();
            for _ in 0..150 {
                let draft = other.start_draft("acme", PUB, "alice").unwrap();
                other.discard_draft(&draft).unwrap();
            }
        });
        // Every listing is checked after the churn ends, so a failure reports
        // itself and not the other thread's fall when the folder goes away.
        let mut failed = None;
        while !churn.is_finished() {
            if let Err(e) = repo.drafts("acme") {
                failed.get_or_insert(e.to_string());
            }
        }
        churn.join().unwrap();
        assert_eq!(failed, None);
        assert!(repo.drafts("acme").unwrap().is_empty());
    }

    #[test]
    fn a_draft_cannot_be_submitted_empty_or_approved_unsubmitted() {
        let (_dir, repo) = repo_with(&[("a.txt", "a")]);
        let draft = repo.start_draft("acme", PUB, "alice").unwrap();
        assert!(repo.submit_draft(&draft, "alice", "nothing").unwrap_err().to_string().contains("changes nothing"));
        let draft = repo.save_draft(&draft, "alice", &[edit("a.txt", "b")], "Edit").unwrap();
        assert!(repo.submit_draft(&draft, "alice", "  ").is_err());
        assert!(repo.approve_draft(&draft, "bob", PUB).unwrap_err().to_string().contains("not submitted"));
    }

    #[test]
    fn concurrent_drafts_merge_per_file_and_conflicts_are_refused() {
        let (_dir, repo) = repo_with(&[("a.txt", "a"), ("b.txt", "b")]);
        let first = repo.start_draft("acme", PUB, "alice").unwrap();
        let second = repo.start_draft("acme", PUB, "carol").unwrap();
        let third = repo.start_draft("acme", PUB, "dave").unwrap();
        let first = repo.save_draft(&first, "alice", &[edit("a.txt", "A1")], "a").unwrap();
        let first = repo.submit_draft(&first, "alice", "first").unwrap();
        let second = repo.save_draft(&second, "carol", &[edit("b.txt", "B2")], "b").unwrap();
        let second = repo.submit_draft(&second, "carol", "second").unwrap();
        let third = repo.save_draft(&third, "dave", &[edit("a.txt", "A3")], "a").unwrap();
        let third = repo.submit_draft(&third, "dave", "third").unwrap();
        repo.approve_draft(&first, "bob", PUB).unwrap();
        // Another file: merged, the first approval kept.
        repo.approve_draft(&second, "bob", PUB).unwrap();
        assert_eq!(text(&repo, "published", "a.txt").as_deref(), Some("A1"));
        assert_eq!(text(&repo, "published", "b.txt").as_deref(), Some("B2"));
        // The same file: refused, nothing overwritten, the draft kept.
        let before = repo.published(PUB).unwrap();
        match repo.approve_draft(&third, "bob", PUB).unwrap_err() {
            RepoError::Conflict { paths, .. } => assert_eq!(paths, ["a.txt"]),
            other => panic!("{other}"),
        }
        assert!(matches!(repo.rebase_draft(&third, "dave", PUB), Err(RepoError::Conflict { .. })));
        assert_eq!(repo.published(PUB).unwrap(), before);
        assert_eq!(text(&repo, "published", "a.txt").as_deref(), Some("A1"));
        assert_eq!(repo.drafts("acme").unwrap().len(), 1);
    }

    #[test]
    fn a_rebased_draft_starts_from_the_new_published_content() {
        let (_dir, repo) = repo_with(&[("a.txt", "a"), ("b.txt", "b")]);
        let mine = repo.start_draft("acme", PUB, "alice").unwrap();
        let other = repo.start_draft("acme", PUB, "carol").unwrap();
        let other = repo.save_draft(&other, "carol", &[edit("b.txt", "B")], "b").unwrap();
        let other = repo.submit_draft(&other, "carol", "b").unwrap();
        repo.approve_draft(&other, "bob", PUB).unwrap();
        let mine = repo.save_draft(&mine, "alice", &[edit("a.txt", "A")], "a").unwrap();
        let rebased = repo.rebase_draft(&mine, "alice", PUB).unwrap();
        assert_eq!(rebased.base, repo.published(PUB).unwrap().unwrap());
        assert_eq!(text(&repo, &rebased.tip, "b.txt").as_deref(), Some("B"));
        assert_eq!(text(&repo, &rebased.tip, "a.txt").as_deref(), Some("A"));
        assert_eq!(repo.draft_changes(&rebased).unwrap(), [crate::Change::Modified("a.txt".into())]);
    }

    #[test]
    fn returned_drafts_carry_the_comment_and_stale_saves_are_refused() {
        let (_dir, repo) = repo_with(&[("a.txt", "a")]);
        let draft = repo.start_draft("acme", PUB, "alice").unwrap();
        let saved = repo.save_draft(&draft, "alice", &[edit("a.txt", "b")], "Edit").unwrap();
        // A second tab still holding the first tip cannot overwrite the save.
        assert!(repo.save_draft(&draft, "alice", &[edit("a.txt", "c")], "Edit").is_err());
        let submitted = repo.submit_draft(&saved, "alice", "b").unwrap();
        let returned = repo.return_draft(&submitted, "bob", "Wrong colour").unwrap();
        assert_eq!((returned.state, returned.comment.as_deref()), (DraftState::Returned, Some("Wrong colour")));
        let again = repo.save_draft(&returned, "alice", &[edit("a.txt", "d")], "Fix").unwrap();
        assert_eq!(again.state, DraftState::Editing);
        repo.discard_draft(&again).unwrap();
        assert!(matches!(repo.draft("acme", &again.id), Err(RepoError::UnknownDraft { .. })));
    }

    #[test]
    fn names_that_are_not_one_ref_component_are_refused() {
        let (_dir, repo) = repo_with(&[("a.txt", "a")]);
        for bad in ["", "../x", "a/b", "-x", "a b"] {
            assert!(repo.drafts(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trailers_are_read_from_the_last_paragraph() {
        let t = trailers("Summary\n\nBody: not a trailer here\n\nTessera-A: 1\nTessera-B: two words\n");
        assert_eq!(t, [("Tessera-A".into(), "1".into()), ("Tessera-B".into(), "two words".into())]);
    }
}
