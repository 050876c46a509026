//! [`TrackerExt`]: conveniences built on the [`Tracker`] trait's methods.

use std::future::Future;

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream};
use futures::{FutureExt, StreamExt, TryStreamExt};
use time::OffsetDateTime;

use super::{Page, SearchPage, Tracker};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Issue, ProjectKey};

/// Conveniences for every [`Tracker`], built on its methods.
///
/// Implemented for all trackers (`dyn Tracker` included); adapter authors
/// implement [`Tracker`] only, never this trait.
pub trait TrackerExt: Tracker {
    /// The pages of [`search`](Tracker::search) from `first` to the last one,
    /// each asked for when the stream is polled, so a caller may stop early
    /// or act after each page (and resume later from a page's
    /// [`next_page`](SearchPage::next_page)).
    ///
    /// The stream ends after the first error; a tracker that hands back the
    /// token it was given (a search that does not advance) is an
    /// `Unexpected` error rather than an endless stream.
    fn search_pages<'a>(&'a self, jql: &'a str, first: Page) -> BoxStream<'a, Result<SearchPage>> {
        walk(
            first,
            move |page| async move { self.search(jql, &page).await },
        )
    }

    /// The pages of [`updated_since`](Tracker::updated_since), like
    /// [`search_pages`](TrackerExt::search_pages).
    fn updated_since_pages<'a>(
        &'a self,
        project: &'a ProjectKey,
        since: OffsetDateTime,
        first: Page,
    ) -> BoxStream<'a, Result<SearchPage>> {
        walk(first, move |page| async move {
            self.updated_since(project, since, &page).await
        })
    }

    /// Every issue matching `jql`, read in pages of `page_size`.
    ///
    /// # Errors
    ///
    /// The first page's error, as [`search`](Tracker::search) returns it.
    fn search_all<'a>(&'a self, jql: &'a str, page_size: u32) -> BoxFuture<'a, Result<Vec<Issue>>> {
        collect(self.search_pages(jql, Page::first(page_size)))
    }

    /// Every issue of `project` updated at or after `since`, oldest change
    /// first, read in pages of `page_size`.
    ///
    /// # Errors
    ///
    /// The first page's error, as [`updated_since`](Tracker::updated_since) returns it.
    fn updated_since_all<'a>(
        &'a self,
        project: &'a ProjectKey,
        since: OffsetDateTime,
        page_size: u32,
    ) -> BoxFuture<'a, Result<Vec<Issue>>> {
        collect(self.updated_since_pages(project, since, Page::first(page_size)))
    }
}

impl<T: Tracker + ?Sized> TrackerExt for T {}

fn collect(pages: BoxStream<'_, Result<SearchPage>>) -> BoxFuture<'_, Result<Vec<Issue>>> {
    pages.map_ok(|page| page.issues).try_concat().boxed()
}

/// Fetches `first`, then the page each answer names, until one names none.
fn walk<'a, F, Fut>(first: Page, fetch: F) -> BoxStream<'a, Result<SearchPage>>
where
    F: FnMut(Page) -> Fut + Send + 'a,
    Fut: Future<Output = Result<SearchPage>> + Send + 'a,
{
    let size = first.max_results;
    stream::try_unfold((Some(first), fetch), move |(page, mut fetch)| async move {
        let Some(page) = page else {
            return Ok(None);
        };
        let asked = page.token.clone();
        let result = fetch(page).await?;
        let next = match &result.next_page {
            Some(token) if asked.as_ref() == Some(token) => {
                return Err(Error::new(
                    ErrorKind::Unexpected,
                    "the tracker's search did not advance: it named the page just read as the next",
                ));
            }
            Some(token) => Some(Page::next(token.clone(), size)),
            None => None,
        };
        Ok(Some((result, (next, fetch))))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::ids as lit;
    use crate::testkit::memory_tracker;
    use crate::tracker::NewIssue;
    use crate::tracker::memory::OpKind;
    use futures::executor::block_on;

    fn tracker_with(issues: usize) -> crate::tracker::MemoryTracker {
        let t = memory_tracker();
        for i in 0..issues {
            block_on(t.create_issue(&NewIssue::new(
                lit::project("SUP"),
                "Bug",
                format!("issue {i}"),
            )))
            .unwrap();
        }
        t.reset_calls();
        t
    }

    #[test]
    fn search_all_reads_every_page_once() {
        let t = tracker_with(7);
        let issues = block_on(t.search_all("project = SUP", 3)).unwrap();
        let keys: Vec<_> = issues.iter().map(|i| i.key.to_string()).collect();
        assert_eq!(
            keys,
            [
                "SUP-1", "SUP-2", "SUP-3", "SUP-4", "SUP-5", "SUP-6", "SUP-7"
            ]
        );
        assert_eq!(t.calls().get(OpKind::Search), 3, "pages of 3, 3 and 1");
    }

    #[test]
    fn pages_are_read_only_as_far_as_the_caller_goes() {
        let t = tracker_with(7);
        let mut pages = t.search_pages("project = SUP", Page::first(3));
        let first = block_on(pages.try_next()).unwrap().unwrap();
        assert_eq!(first.issues.len(), 3);
        drop(pages);
        assert_eq!(t.calls().get(OpKind::Search), 1);
        // Resuming from the first page's token reads the rest.
        let token = first.next_page.unwrap();
        let rest: Vec<SearchPage> = block_on(
            t.search_pages("project = SUP", Page::next(token, 3))
                .try_collect(),
        )
        .unwrap();
        let counts: Vec<_> = rest.iter().map(|p| p.issues.len()).collect();
        assert_eq!(counts, [3, 1]);
    }

    #[test]
    fn updated_since_all_and_errors_pass_through() {
        let t = tracker_with(2);
        let since = t.clock().now() - time::Duration::hours(1);
        let issues = block_on(t.updated_since_all(&lit::project("SUP"), since, 1)).unwrap();
        assert_eq!(issues.len(), 2);
        let err = block_on(t.updated_since_all(&lit::project("NOPE"), since, 1)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    }

    /// Answers every search with the page it was asked for as the next one.
    #[derive(Debug)]
    struct Stuck(crate::tracker::MemoryTracker);

    macro_rules! stuck {
        ($self:ident, search, $kind:ident, ($jql:ident, $page:ident), $call:expr) => {
            $call.map(|mut found| {
                found.next_page = Some($page.token.clone().unwrap_or_else(|| "0".repeat(40)));
                found
            })
        };
        ($self:ident, $method:ident, $kind:ident, $args:tt, $call:expr) => {
            $call
        };
    }

    crate::forward_tracker!([] Stuck, 0, stuck);

    #[test]
    fn a_search_that_does_not_advance_is_an_error_not_an_endless_loop() {
        let t = tracker_with(2);
        let stuck = Stuck(t.clone());
        let err = block_on(stuck.search_all("project = SUP", 1)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unexpected, "{err}");
        assert!(err.to_string().contains("did not advance"), "{err}");
        assert_eq!(t.calls().get(OpKind::Search), 2);
    }
}
