//! A [`Library`]: one content set with every view's templates compiled —
//! the unit that hot reload swaps. Built completely before it is used, so
//! a document never sees a half-built library.

use crate::compose::{ComposeError, Composed, Composer, FragmentPlugins};
use std::collections::HashMap;
use std::sync::Arc;
use tessera_cdm::CdmRecord;
use tessera_content::{ContentError, ContentSet, Label};
use tessera_runtime::CallContext;

/// Compiled templates for every (label, locale) of one content set.
pub struct Library {
    set: ContentSet,
    revision: Arc<str>,
    composers: HashMap<String, Composer>,
}

impl Library {
    /// Compiles every view of `set`; the first error wins.
    pub fn build(set: ContentSet) -> Result<Library, ContentError> {
        let revision: Arc<str> = Arc::from(set.revision().to_string());
        let mut composers = HashMap::new();
        for view in set.views() {
            composers.insert(view.key().to_owned(), Composer::new(Arc::clone(view), Arc::clone(&revision))?);
        }
        Ok(Library { set, revision, composers })
    }

    /// The content revision (commit id or `worktree:<id>`).
    pub fn revision(&self) -> &Arc<str> {
        &self.revision
    }

    /// The content set.
    pub fn set(&self) -> &ContentSet {
        &self.set
    }

    /// A label.
    pub fn label(&self, id: &str) -> Option<&Label> {
        self.set.label(id)
    }

    /// The composer for a label and a requested locale (`nl-BE` → `nl` → default).
    pub fn composer(&self, label: &str, locale: &str) -> Result<&Composer, ComposeError> {
        let view = self.set.view(label, locale).ok_or_else(|| {
            let known: Vec<&str> = self.set.label_ids().collect();
            ComposeError::Missing(format!("label `{label}` is not in labels/ (known: {})", known.join(", ")))
        })?;
        Ok(self.composers.get(view.key()).expect("a composer per view"))
    }

    /// Composes one document, rendering `renditions` of it.
    #[allow(clippy::too_many_arguments)]
    pub fn compose(
        &self,
        record: &CdmRecord,
        template: &str,
        label: &str,
        locale: &str,
        call: &CallContext,
        fragments: &Arc<FragmentPlugins>,
        renditions: crate::compose::Renditions,
    ) -> Result<Composed, ComposeError> {
        self.composer(label, locale)?.compose(record, template, locale, call, fragments, renditions)
    }
}
