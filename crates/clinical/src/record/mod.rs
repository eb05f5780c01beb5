//! The patient record as the clinician sees it: the [`banner`] (who this is), the
//! [`summary`] (problems, medication, allergies, observations, immunisations,
//! appointments) and the [`journal`] (consultations, newest first).
//!
//! Speed matters here more than anywhere: every store search is audited and waits for
//! the audit trail's group commit, so the whole page is a handful of searches (banner
//! one, summary six, journal two, all run side by side), each limited with `_count`.

pub mod banner;
pub mod display;
pub mod journal;
pub mod sample;
pub mod summary;
pub mod trend;

pub use banner::{Banner, BannerAlert, banner};
pub use journal::{Consultation, Entry, Heading, Journal, JournalQuery, Topic, journal};
pub use summary::{Summary, summary};
pub use trend::{Reading, Trend};

use store::{FhirResult, Repository, RequestContext};

/// Everything the record page shows.
#[derive(Debug, Clone)]
pub struct RecordPage {
    pub banner: Banner,
    pub summary: Summary,
    /// `None` when the user's role may not read consultations.
    pub journal: Option<Journal>,
}

/// The record page's content: banner, summary and journal read side by side. The
/// banner's error (not found, or restricted: break-glass) is the page's.
pub fn record_page(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    query: &JournalQuery,
) -> FhirResult<RecordPage> {
    std::thread::scope(|s| {
        // The banner's search brings the allergies too; the summary waits for them only
        // at its end, so its other searches start at once.
        let (allergies_tx, allergies_rx) = std::sync::mpsc::channel();
        let banner = s.spawn(move || {
            let found = banner::banner_with_allergies(repo, ctx, patient_id);
            let (banner, allergies) = match found {
                Ok((b, a)) => (Ok(b), a),
                Err(e) => (Err(e), None),
            };
            let _ = allergies_tx.send(allergies);
            banner
        });
        let summary =
            s.spawn(move || summary::summary_with(repo, ctx, patient_id, Some(allergies_rx)));
        // The journal only needs the problems for titles and the problem filter, so it
        // starts at once and reads them itself only when filtering by problem.
        let journal_problems = query.problem.is_some();
        let journal = s.spawn(move || {
            let problems = if journal_problems {
                crate::problems::search_problems(repo, ctx, patient_id)?
            } else {
                Vec::new()
            };
            journal(repo, ctx, patient_id, query, &problems)
        });
        let banner = join(banner)?;
        let summary = join(summary)?;
        let journal = match join(journal) {
            Ok(j) => Some(j),
            Err(e) if e.status() == 403 => None,
            Err(e) => return Err(e),
        };
        let mut journal = journal;
        if let (Some(j), Some(problems)) = (journal.as_mut(), summary.active_problems.as_ref()) {
            name_topics(
                j,
                problems
                    .iter()
                    .chain(summary.past_problems.iter().flatten()),
            );
        }
        Ok(RecordPage {
            banner,
            summary,
            journal,
        })
    })
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Topics about a problem take the problem's current term as their title.
fn name_topics<'a>(
    journal: &mut Journal,
    problems: impl Iterator<Item = &'a crate::problems::Problem>,
) {
    let titles: std::collections::HashMap<&str, &str> =
        problems.map(|p| (p.id.as_str(), p.term.as_str())).collect();
    for topic in journal
        .consultations
        .iter_mut()
        .flat_map(|c| c.topics.iter_mut())
    {
        if let Some(title) = topic.problem_id.as_deref().and_then(|id| titles.get(id)) {
            topic.title = title.to_string();
        }
    }
}
