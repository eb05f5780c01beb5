//! The patient record as the clinician sees it: the [`banner`] (who this is), the
//! [`summary`] (problems, medication, allergies, observations, immunisations,
//! appointments) and the [`journal`] (consultations, newest first).
//!
//! Speed matters here more than anywhere: the whole page is a handful of searches, all
//! run side by side (the banner with the allergies; the problems, once for every part;
//! five more for the summary; the journal's page of consultations and the topics for
//! its filter), each limited with `_count`. Their audit entries are written together in
//! one commit at the end (`Repository::audited_together`) instead of each search
//! waiting for its own.

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

use std::sync::mpsc::channel;
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
    // One audit commit for the page's dozen reads, not one wait per read.
    repo.audited_together(ctx, |ctx| record_page_reads(repo, ctx, patient_id, query))
}

fn record_page_reads(
    repo: &Repository,
    ctx: &RequestContext,
    patient_id: &str,
    query: &JournalQuery,
) -> FhirResult<RecordPage> {
    std::thread::scope(|s| {
        // The banner's search brings the allergies too, and the problems are read once
        // for the summary and the journal: each part waits for them only when it needs
        // them, so every search starts at once.
        let (allergies_tx, allergies_rx) = channel();
        let (summary_problems_tx, summary_problems_rx) = channel();
        let (journal_problems_tx, journal_problems_rx) = channel();
        let banner = s.spawn(move || {
            let found = banner::banner_with_allergies(repo, ctx, patient_id);
            let (banner, allergies) = match found {
                Ok((b, a)) => (Ok(b), a),
                Err(e) => (Err(e), None),
            };
            let _ = allergies_tx.send(allergies);
            banner
        });
        let problems = s.spawn(move || {
            let found = match crate::problems::search_problems(repo, ctx, patient_id) {
                Ok(list) => Some(list),
                Err(e) if e.status() == 403 => None,
                // Dropping the senders tells the others; the page gets this error.
                Err(e) => return Err(e),
            };
            let _ = summary_problems_tx.send(found.clone());
            let _ = journal_problems_tx.send(found);
            Ok(())
        });
        let summary = s.spawn(move || {
            let handed = summary::Prefetched {
                allergies: Some(allergies_rx),
                problems: Some(summary_problems_rx),
            };
            summary::summary_with(repo, ctx, patient_id, handed)
        });
        let journal = s.spawn(move || {
            journal(repo, ctx, patient_id, query, || {
                journal_problems_rx.recv().ok().flatten()
            })
        });
        join(problems)?;
        let banner = join(banner)?;
        let summary = join(summary)?;
        let journal = match join(journal) {
            Ok(j) => Some(j),
            Err(e) if e.status() == 403 => None,
            Err(e) => return Err(e),
        };
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
