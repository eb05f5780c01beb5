//! How much each app has used the API, counted from the audit log.

use crate::backend::{SqlValue, Store, StoreError, TxMode};
use crate::context::RequestContext;

/// One app's use of a practice's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientUsage {
    pub client_id: String,
    /// Audited events of the app: each read, search, write, sign-in or refusal.
    pub requests: u64,
    /// Resources returned by its reads, searches, histories and exports.
    pub resources_returned: u64,
    /// When it was last used, microseconds since the Unix epoch.
    pub last_used: i64,
}

/// The events that return resources to the client.
const RETURNING_EVENTS: &str = "'read', 'vread', 'search-type', 'search-system', \
                                'history-instance', 'history-type', 'history-system', \
                                'everything', 'export'";

/// Every app that has used `practice`'s records, by client id.
pub fn client_usage(store: &dyn Store, practice: &str) -> Result<Vec<ClientUsage>, StoreError> {
    let sql = format!(
        "SELECT client_id, COUNT(*), \
         CAST(COALESCE(SUM(CASE WHEN event IN ({RETURNING_EVENTS}) THEN entity_count ELSE 0 END), 0) AS BIGINT), \
         MAX(recorded) \
         FROM audit_log WHERE practice = ? AND client_id IS NOT NULL \
         GROUP BY client_id ORDER BY client_id"
    );
    let mut tx = store.begin(&RequestContext::system(practice), TxMode::Read)?;
    let rows = tx.query(&sql, &[SqlValue::from(practice)])?;
    tx.commit()?;
    rows.into_iter()
        .map(|row| {
            let mut cols = row.into_iter();
            let client_id = cols.next().and_then(SqlValue::into_string);
            let mut int = || cols.next().and_then(|v| v.as_i64());
            match (client_id, int(), int(), int()) {
                (Some(client_id), Some(requests), Some(returned), Some(last_used)) => {
                    Ok(ClientUsage {
                        client_id,
                        requests: requests.max(0) as u64,
                        resources_returned: returned.max(0) as u64,
                        last_used,
                    })
                }
                _ => Err(StoreError::Backend(
                    "a client usage row has an unexpected shape".into(),
                )),
            }
        })
        .collect()
}
