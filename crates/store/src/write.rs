//! The write path: checking a resource, stamping it with its id and version, and storing
//! the version, the current row and the search index rows, all in one transaction.
//!
//! The functions here run inside a transaction the caller opened, so the single
//! interactions (repository.rs) and transaction Bundles (bundle.rs) share them.
//!
//! Every write also stores the resource's access tags (confidentiality, compartment
//! patient, sealer) and the patient flags it sets, refuses to change what the writer
//! may not see, and appends its audit entries last, just before the commit.

use crate::access::ResourceAccess;
use crate::access::tags::{self, Flag, Tags};
use crate::audit::{Action, AuditLog, AuditRecord, Outcome};
use crate::backend::{Dialect, Row, SqlValue, StoreError, Transaction, TxMode};
use crate::context::{Actor, RequestContext};
use crate::error::{FhirError, FhirResult};
use crate::index_rows;
use crate::repository::Repository;
use crate::search::visibility::{access_columns, read_refusal, resource_access};
use crate::version::{ResourceVersion, WriteKind, WriteOutcome};
use fhir::validate::is_valid_id;
use fhir::{Definitions, IndexEntry, Severity};
use serde_json::{Map, Value};

/// Attempts at a write transaction that lost a race (PostgreSQL unique violation or
/// serialization failure) before giving up.
const WRITE_ATTEMPTS: usize = 5;

/// How many new resources one multi-row INSERT carries (well under both databases'
/// limits on bound parameters).
const INSERT_CHUNK: usize = 500;

/// The current row of a resource, as a write needs it.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    pub pk: i64,
    pub version: i64,
    pub deleted: bool,
    /// Its access tags, to refuse changing what the writer may not see.
    pub access: ResourceAccess,
}

/// Where writes happen: an open transaction, on behalf of a practice, at one instant.
pub(crate) struct Writer<'a> {
    pub tx: &'a mut dyn Transaction,
    pub ctx: &'a RequestContext,
    pub dialect: Dialect,
    /// The `last_updated` of every version this writer stores (µs since the epoch).
    pub now: i64,
    /// The audit entries of what this writer did, appended just before the commit.
    pub audit: Vec<AuditRecord>,
    /// When set, the entries are appended as one record of this event (a transaction
    /// Bundle: one entry for all its resources keeps bulk ingest cheap).
    pub audit_as_one: Option<&'static str>,
}

/// A brand-new resource ready for the bulk insert: checked, stamped, indexed.
pub(crate) struct NewResource {
    pub rtype: String,
    pub id: String,
    pub method: &'static str,
    pub body: Value,
}

/// A new server-assigned id: a time-ordered UUID (v7), so new rows land at the end of the
/// id indexes instead of on a random page each; random v4 ids made every insert dirty a
/// different index page and multiplied the bytes written per commit.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Checks a resource sent to `[base]/rtype[/url_id]` before any transaction opens: it
/// must be a JSON object of that type, its id must be the URL's (for an update), and it must be
/// valid FHIR. Warnings from the validator do not reject it.
pub(crate) fn check_body(rtype: &str, body: &Value, url_id: Option<&str>) -> FhirResult<()> {
    check_type(rtype)?;
    let Some(obj) = body.as_object() else {
        return Err(FhirError::bad_request(
            "the body must be a JSON object (a FHIR resource)",
        ));
    };
    match obj.get("resourceType").and_then(Value::as_str) {
        Some(t) if t == rtype => {}
        Some(t) => {
            return Err(FhirError::bad_request(format!(
                "the resource is a {t}, but the URL is for {rtype}"
            )));
        }
        None => return Err(FhirError::bad_request("the resource has no resourceType")),
    }
    if let Some(id) = url_id {
        check_id(id)?;
        // FHIR: an update's body SHALL carry the id of its URL; a missing one is a 400
        // too, as it usually means the client sent the wrong resource.
        match obj.get("id") {
            None => {
                return Err(FhirError::bad_request(format!(
                    "the resource has no id; an update must carry the id in its URL ({id})"
                )));
            }
            Some(Value::String(body_id)) if body_id == id => {}
            Some(_) => {
                return Err(FhirError::bad_request(format!(
                    "the resource's id does not match the id in the URL ({id})"
                )));
            }
        }
    }
    let errors: Vec<_> = fhir::validate_resource(body)
        .into_iter()
        .filter(|i| matches!(i.severity, Severity::Error | Severity::Fatal))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(FhirError::Unprocessable(errors))
    }
}

/// A concrete resource type such as `Patient` (400 otherwise).
pub(crate) fn check_type(rtype: &str) -> FhirResult<()> {
    if Definitions::get().is_resource_type(rtype) {
        Ok(())
    } else {
        Err(FhirError::bad_request(format!(
            "unknown resource type '{rtype}'"
        )))
    }
}

pub(crate) fn check_id(id: &str) -> FhirResult<()> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(FhirError::bad_request(format!(
            "'{id}' is not a valid FHIR id (1-64 letters, digits, '-' and '.')"
        )))
    }
}

/// The resource as stored: `resourceType`, `id` and `meta` first (meta keeping the
/// client's elements, with `versionId` and `lastUpdated` set), then every other element
/// exactly as the client sent it, in its order.
pub(crate) fn stamp(body: Value, id: &str, version: i64, last_updated: i64) -> Value {
    let Value::Object(mut sent) = body else {
        return body;
    };
    let mut meta = match sent.shift_remove("meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let version_id = Value::String(version.to_string());
    let instant = Value::String(crate::time::format_instant(last_updated));
    // Replacing in place keeps a client's meta element order; absent ones go first.
    if meta.contains_key("lastUpdated") {
        meta.insert("lastUpdated".into(), instant);
    } else {
        meta.shift_insert(0, "lastUpdated".into(), instant);
    }
    if meta.contains_key("versionId") {
        meta.insert("versionId".into(), version_id);
    } else {
        meta.shift_insert(0, "versionId".into(), version_id);
    }
    let mut out = Map::with_capacity(sent.len() + 2);
    out.insert(
        "resourceType".into(),
        sent.shift_remove("resourceType").unwrap_or(Value::Null),
    );
    sent.shift_remove("id");
    out.insert("id".into(), Value::String(id.to_string()));
    out.insert("meta".into(), Value::Object(meta));
    out.extend(sent);
    Value::Object(out)
}

/// Parses an `If-Match` / `ifMatch` value: `W/"3"`, `"3"` or `3`.
pub(crate) fn parse_etag(s: &str) -> FhirResult<i64> {
    let t = s.trim();
    let t = t.strip_prefix("W/").unwrap_or(t);
    let t = t
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(t);
    t.parse()
        .map_err(|_| FhirError::bad_request(format!("'{s}' is not a version ETag such as W/\"3\"")))
}

fn row_to_version(rtype: &str, id: &str, row: Row) -> ResourceVersion {
    let mut it = row.into_iter();
    let version = it.next().and_then(|v| v.as_i64()).unwrap_or_default();
    let last_updated = it.next().and_then(|v| v.as_i64()).unwrap_or_default();
    let deleted = it.next().and_then(|v| v.as_bool()).unwrap_or_default();
    let body = it.next().and_then(SqlValue::into_string);
    ResourceVersion {
        rtype: rtype.into(),
        id: id.into(),
        version,
        last_updated,
        deleted,
        body,
    }
}

/// The current version (NotFound / Gone), inside any transaction; NotFound too if `ctx`
/// may not see it, Forbidden if it needs break-glass.
pub(crate) fn read_in(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    rtype: &str,
    id: &str,
) -> FhirResult<ResourceVersion> {
    read_checked(tx, ctx, rtype, id).map(|(found, _)| found)
}

/// [`read_in`], with the access tags the decision was made on.
pub(crate) fn read_checked(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    rtype: &str,
    id: &str,
) -> FhirResult<(ResourceVersion, ResourceAccess)> {
    let rows = tx.query(
        &format!(
            "SELECT r.version, r.last_updated, r.deleted, v.body, {} FROM resources r CROSS JOIN resource_versions v \
             WHERE r.practice = ? AND r.rtype = ? AND r.id = ? AND r.practice = v.practice AND v.rtype = r.rtype AND v.id = r.id AND v.version = r.version",
            access_columns("r")
        ),
        &[ctx.practice.as_str().into(), rtype.into(), id.into()],
    )?;
    let Some(mut row) = rows.into_iter().next() else {
        return Err(FhirError::NotFound(format!("{rtype}/{id} is not known")));
    };
    let access = resource_access(rtype, &row.split_off(4));
    if let Some(refused) = read_refusal(ctx, rtype, id, &access) {
        return Err(refused);
    }
    let found = row_to_version(rtype, id, row);
    if found.deleted {
        return Err(FhirError::Gone(format!(
            "{rtype}/{id} was deleted (version {})",
            found.version
        )));
    }
    Ok((found, access))
}

/// One version (NotFound; a deletion version is Gone), inside any transaction, with the
/// access tags the decision was made on. The resource's current tags decide who may see
/// its versions.
pub(crate) fn vread_checked(
    tx: &mut dyn Transaction,
    ctx: &RequestContext,
    rtype: &str,
    id: &str,
    version: &str,
) -> FhirResult<(ResourceVersion, ResourceAccess)> {
    let not_found = || FhirError::NotFound(format!("{rtype}/{id} has no version '{version}'"));
    let v: i64 = version.parse().map_err(|_| not_found())?;
    let rows = tx.query(
        &format!(
            "SELECT v.version, v.last_updated, v.method = 'DELETE', v.body, {} \
             FROM resources r CROSS JOIN resource_versions v \
             WHERE r.practice = ? AND r.rtype = ? AND r.id = ? AND v.practice = r.practice \
             AND v.rtype = r.rtype AND v.id = r.id AND v.version = ?",
            access_columns("r")
        ),
        &[
            ctx.practice.as_str().into(),
            rtype.into(),
            id.into(),
            v.into(),
        ],
    )?;
    let mut row = rows.into_iter().next().ok_or_else(not_found)?;
    let access = resource_access(rtype, &row.split_off(4));
    match read_refusal(ctx, rtype, id, &access) {
        // Hidden: the words of a version that does not exist.
        Some(FhirError::NotFound(_)) => return Err(not_found()),
        Some(refused) => return Err(refused),
        None => {}
    }
    let found = row_to_version(rtype, id, row);
    if found.deleted {
        return Err(FhirError::Gone(format!(
            "version {v} of {rtype}/{id} is its deletion"
        )));
    }
    Ok((found, access))
}

impl Writer<'_> {
    /// The current row, locked against concurrent writers on PostgreSQL (SQLite write
    /// transactions are already exclusive).
    pub fn current(&mut self, rtype: &str, id: &str) -> Result<Option<Current>, StoreError> {
        let lock = if self.dialect == Dialect::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let rows = self.tx.query(
            &format!(
                "SELECT r.pk, r.version, r.deleted, {} FROM resources r WHERE r.practice = ? AND r.rtype = ? AND r.id = ?{lock}",
                access_columns("r")
            ),
            &[self.ctx.practice.as_str().into(), rtype.into(), id.into()],
        )?;
        if self.dialect == Dialect::Postgres {
            // The lock may have waited for another writer's commit: stamp this version
            // after that one, so last_updated follows version order (`_at` relies on it).
            self.now = self.now.max(crate::time::now_micros());
        }
        Ok(rows.into_iter().next().map(|r| Current {
            pk: r[0].as_i64().unwrap_or_default(),
            version: r[1].as_i64().unwrap_or_default(),
            deleted: r[2].as_bool().unwrap_or_default(),
            access: resource_access(rtype, &r[3..]),
        }))
    }

    /// The staff user writing (the sealer of what they mark `V`).
    fn writer_user(&self) -> Option<&str> {
        match (&self.ctx.access.staff, &self.ctx.actor) {
            (Some(staff), _) => Some(staff.user_id.as_str()),
            (None, Actor::User(id)) => Some(id.as_str()),
            _ => None,
        }
    }

    /// Replaces the patient flags set by `rtype/id` (Patient, Consent) with `flags`.
    fn replace_flags(&mut self, rtype: &str, id: &str, flags: &[Flag]) -> Result<(), StoreError> {
        let Some(source) = tags::flag_source(rtype, id) else {
            return Ok(());
        };
        self.tx.execute(
            "DELETE FROM patient_flags WHERE practice = ? AND source = ?",
            &[self.practice(), source.as_str().into()],
        )?;
        let rows: Vec<Row> = flags.iter().map(|f| self.flag_row(f, &source)).collect();
        if !rows.is_empty() {
            self.tx.insert_many("patient_flags", FLAG_COLUMNS, &rows)?;
        }
        Ok(())
    }

    fn flag_row(&self, flag: &Flag, source: &str) -> Row {
        vec![
            self.practice(),
            flag.patient_id.as_str().into(),
            flag.flag.into(),
            source.into(),
        ]
    }

    /// Notes a stored version for the audit trail.
    fn audit_write(
        &mut self,
        event: &str,
        action: Action,
        v: &ResourceVersion,
        patient: Option<&str>,
    ) {
        let mut record = AuditRecord::new(event, action, Outcome::Success).entity(format!(
            "{}/_history/{}",
            v.reference(),
            v.version
        ));
        if let Some(p) = patient {
            record = record.patient(p);
        }
        self.audit.push(record);
    }

    /// The entries to append: one per write, or one for them all.
    pub fn take_audit(&mut self) -> Vec<AuditRecord> {
        let records = std::mem::take(&mut self.audit);
        match self.audit_as_one {
            Some(event) if !records.is_empty() => {
                let mut one = AuditRecord::new(event, Action::Execute, Outcome::Success);
                for r in records {
                    one.entities.extend(r.entities);
                    for p in r.patients {
                        one = one.patient(p);
                    }
                }
                vec![one]
            }
            _ => records,
        }
    }

    /// Stores `body` (already checked) as the next version of `rtype/id`, creating the
    /// resource if it is absent. `if_match` must equal the current version.
    pub fn update(
        &mut self,
        rtype: &str,
        id: &str,
        body: Value,
        if_match: Option<i64>,
        method: &'static str,
    ) -> FhirResult<WriteOutcome> {
        let cur = self.current(rtype, id)?;
        self.update_from(cur, rtype, id, body, if_match, method)
    }

    /// `update` when the current row has been looked up already.
    pub fn update_from(
        &mut self,
        cur: Option<Current>,
        rtype: &str,
        id: &str,
        body: Value,
        if_match: Option<i64>,
        method: &'static str,
    ) -> FhirResult<WriteOutcome> {
        // What the writer may not see, they may not overwrite either.
        if let Some(c) = &cur
            && let Some(refused) = read_refusal(self.ctx, rtype, id, &c.access)
        {
            return Err(refused);
        }
        if let Some(expected) = if_match {
            match &cur {
                Some(c) if c.version == expected => {}
                Some(c) => {
                    return Err(FhirError::PreconditionFailed(format!(
                        "{rtype}/{id} is at version {}, not {expected}",
                        c.version
                    )));
                }
                None => {
                    return Err(FhirError::PreconditionFailed(format!(
                        "{rtype}/{id} does not exist"
                    )));
                }
            }
        }
        let Some(cur) = cur else {
            let created = self.insert_new(vec![NewResource {
                rtype: rtype.into(),
                id: id.into(),
                method,
                body,
            }])?;
            let resource = created.into_iter().next().expect("one resource inserted");
            return Ok(WriteOutcome {
                kind: WriteKind::Created,
                resource,
            });
        };
        let version = cur.version + 1;
        let stored = stamp(body, id, version, self.now);
        let entries = fhir::index::extract(rtype, &stored);
        let earlier_sealer = cur.access.sealed_by.as_deref();
        let tags = tags::tags(
            rtype,
            id,
            &stored,
            &entries,
            self.writer_user(),
            earlier_sealer,
        );
        let flags = tags::flags(rtype, &stored, tags.patient_id.as_deref());
        let text = stored.to_string();
        self.tx.execute(
            "UPDATE resources SET version = ?, last_updated = ?, deleted = ?, conf = ?, patient_id = ?, sealed_by = ? \
             WHERE pk = ? AND practice = ?",
            &[
                version.into(),
                self.now.into(),
                false.into(),
                tags.conf.level().into(),
                tags.patient_id.clone().into(),
                tags.sealed_by.into(),
                cur.pk.into(),
                self.practice(),
            ],
        )?;
        self.insert_version(cur.pk, rtype, id, version, method, Some(&text))?;
        index_rows::replace(&mut *self.tx, &self.ctx.practice, cur.pk, rtype, &entries)?;
        self.replace_flags(rtype, id, &flags)?;
        let kind = if cur.deleted {
            WriteKind::Created
        } else {
            WriteKind::Updated
        };
        let resource = ResourceVersion {
            rtype: rtype.into(),
            id: id.into(),
            version,
            last_updated: self.now,
            deleted: false,
            body: Some(text),
        };
        let (event, action) = match kind {
            WriteKind::Created => ("create", Action::Create),
            _ => ("update", Action::Update),
        };
        self.audit_write(event, action, &resource, tags.patient_id.as_deref());
        Ok(WriteOutcome { kind, resource })
    }

    /// Deletes `rtype/id` if it exists and is not deleted already (None otherwise). One
    /// the writer may not see is left alone as if absent (Forbidden if it needs
    /// break-glass).
    pub fn delete(&mut self, rtype: &str, id: &str) -> FhirResult<Option<ResourceVersion>> {
        let Some(cur) = self.current(rtype, id)?.filter(|c| !c.deleted) else {
            return Ok(None);
        };
        match read_refusal(self.ctx, rtype, id, &cur.access) {
            None => {}
            Some(FhirError::NotFound(_)) => return Ok(None),
            Some(refused) => return Err(refused),
        }
        let version = cur.version + 1;
        self.tx.execute(
            "UPDATE resources SET version = ?, last_updated = ?, deleted = ? WHERE pk = ? AND practice = ?",
            &[version.into(), self.now.into(), true.into(), cur.pk.into(), self.practice()],
        )?;
        self.insert_version(cur.pk, rtype, id, version, "DELETE", None)?;
        index_rows::remove(&mut *self.tx, &self.ctx.practice, cur.pk)?;
        // Its tags stay, so its history stays as hidden as it was; its flags go.
        self.replace_flags(rtype, id, &[])?;
        let deleted = ResourceVersion {
            rtype: rtype.into(),
            id: id.into(),
            version,
            last_updated: self.now,
            deleted: true,
            body: None,
        };
        self.audit_write(
            "delete",
            Action::Delete,
            &deleted,
            cur.access.patient_id.as_deref(),
        );
        Ok(Some(deleted))
    }

    /// Inserts resources that do not exist yet (version 1) with as few statements as
    /// possible: multi-row inserts of the current rows and versions, then every index
    /// row in one bulk insert per index table. Returns them in the order given.
    pub fn insert_new(&mut self, resources: Vec<NewResource>) -> FhirResult<Vec<ResourceVersion>> {
        let now = self.now;
        let writer = self.writer_user().map(str::to_string);
        let stamped = crate::parallel::map(resources, |mut r| {
            let body = stamp(std::mem::take(&mut r.body), &r.id, 1, now);
            let entries = fhir::index::extract(&r.rtype, &body);
            let tags = tags::tags(&r.rtype, &r.id, &body, &entries, writer.as_deref(), None);
            let flags = tags::flags(&r.rtype, &body, tags.patient_id.as_deref());
            let text = body.to_string();
            Stamped {
                new: r,
                text,
                entries,
                tags,
                flags,
            }
        });
        let mut pks = Vec::with_capacity(stamped.len());
        for chunk in stamped.chunks(INSERT_CHUNK) {
            pks.extend(self.insert_current_rows(chunk)?);
        }
        let version_rows: Vec<Row> = stamped
            .iter()
            .zip(&pks)
            .map(|(s, pk)| {
                vec![
                    SqlValue::Int(*pk),
                    self.practice(),
                    s.new.rtype.as_str().into(),
                    s.new.id.as_str().into(),
                    SqlValue::Int(1),
                    SqlValue::Int(self.now),
                    s.new.method.into(),
                    s.text.as_str().into(),
                ]
            })
            .collect();
        self.tx
            .insert_many("resource_versions", VERSION_COLUMNS, &version_rows)?;
        let index: Vec<(i64, &str, &[IndexEntry])> = stamped
            .iter()
            .zip(&pks)
            .map(|(s, pk)| (*pk, s.new.rtype.as_str(), s.entries.as_slice()))
            .collect();
        index_rows::insert(&mut *self.tx, &self.ctx.practice, &index)?;
        // Brand-new resources have no flags yet to replace.
        let mut flag_rows: Vec<Row> = Vec::new();
        for s in &stamped {
            let source = tags::flag_source(&s.new.rtype, &s.new.id).unwrap_or_default();
            flag_rows.extend(s.flags.iter().map(|f| self.flag_row(f, &source)));
        }
        if !flag_rows.is_empty() {
            self.tx
                .insert_many("patient_flags", FLAG_COLUMNS, &flag_rows)?;
        }
        let mut created = Vec::with_capacity(stamped.len());
        for s in stamped {
            let v = ResourceVersion {
                rtype: s.new.rtype,
                id: s.new.id,
                version: 1,
                last_updated: self.now,
                deleted: false,
                body: Some(s.text),
            };
            self.audit_write("create", Action::Create, &v, s.tags.patient_id.as_deref());
            created.push(v);
        }
        Ok(created)
    }

    /// One multi-row INSERT of current rows; returns their pks in the chunk's order.
    fn insert_current_rows(&mut self, chunk: &[Stamped]) -> FhirResult<Vec<i64>> {
        let mut sql = String::from(
            "INSERT INTO resources (practice, rtype, id, version, last_updated, deleted, conf, patient_id, sealed_by) VALUES ",
        );
        let mut params = Vec::with_capacity(chunk.len() * 9);
        for (i, s) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 {
                "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
            } else {
                ", (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            });
            params.extend([
                self.practice(),
                s.new.rtype.as_str().into(),
                s.new.id.as_str().into(),
                SqlValue::Int(1),
                SqlValue::Int(self.now),
                SqlValue::Bool(false),
                SqlValue::Int(s.tags.conf.level()),
                s.tags.patient_id.clone().into(),
                s.tags.sealed_by.clone().into(),
            ]);
        }
        // Neither database promises RETURNING rows in VALUES order, so match them by key.
        sql.push_str(" RETURNING pk, rtype, id");
        let rows = self.tx.query(&sql, &params)?;
        let mut by_key = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            let mut it = row.into_iter();
            let pk = it.next().and_then(|v| v.as_i64()).unwrap_or_default();
            let rtype = it
                .next()
                .and_then(SqlValue::into_string)
                .unwrap_or_default();
            let id = it
                .next()
                .and_then(SqlValue::into_string)
                .unwrap_or_default();
            by_key.insert((rtype, id), pk);
        }
        chunk
            .iter()
            .map(|Stamped { new: r, .. }| {
                by_key
                    .remove(&(r.rtype.clone(), r.id.clone()))
                    .ok_or_else(|| {
                        FhirError::Store(StoreError::Backend(format!(
                            "no pk returned for {}/{}",
                            r.rtype, r.id
                        )))
                    })
            })
            .collect()
    }

    /// Conditional create: the one resource matching `criteria` (None if there is none;
    /// several are PreconditionFailed).
    pub fn existing_match(
        &mut self,
        rtype: &str,
        criteria: &str,
    ) -> FhirResult<Option<ResourceVersion>> {
        match self.matches(rtype, criteria)?.as_slice() {
            [] => Ok(None),
            [one] => {
                let (found, access) = read_checked(&mut *self.tx, self.ctx, rtype, &one.id)?;
                // The match is returned to the client: that is a read.
                let mut record = AuditRecord::new("read", Action::Read, Outcome::Success)
                    .entity(format!("{}/_history/{}", found.reference(), found.version));
                if let Some(p) = &access.patient_id {
                    record = record.patient(p.as_str());
                }
                self.audit.push(record);
                Ok(Some(found))
            }
            several => Err(too_many(rtype, criteria, several.len())),
        }
    }

    /// Conditional update: the id to write. The one match (a body id must agree with
    /// it), or when nothing matches, the body's id or a new one.
    pub fn conditional_target(
        &mut self,
        rtype: &str,
        criteria: &str,
        body_id: Option<&str>,
    ) -> FhirResult<String> {
        match self.matches(rtype, criteria)?.as_slice() {
            [] => Ok(body_id.map_or_else(new_id, str::to_string)),
            [one] => match body_id {
                Some(b) if b != one.id => Err(FhirError::bad_request(format!(
                    "the resource's id ({b}) is not the id of the resource matching the criteria ({})",
                    one.id
                ))),
                _ => Ok(one.id.clone()),
            },
            several => Err(too_many(rtype, criteria, several.len())),
        }
    }

    /// Conditional delete: deletes the one match; returns how many were deleted.
    pub fn conditional_delete(&mut self, rtype: &str, criteria: &str) -> FhirResult<usize> {
        match self.matches(rtype, criteria)?.as_slice() {
            [] => Ok(0),
            [one] => {
                let id = one.id.clone();
                Ok(self.delete(rtype, &id)?.map_or(0, |_| 1))
            }
            several => Err(too_many(rtype, criteria, several.len())),
        }
    }

    fn matches(&mut self, rtype: &str, criteria: &str) -> FhirResult<Vec<crate::search::Match>> {
        check_type(rtype)?;
        if criteria.trim().is_empty() {
            return Err(FhirError::bad_request(
                "a conditional interaction needs search criteria",
            ));
        }
        crate::search::find_matches(&mut *self.tx, self.ctx, rtype, criteria)
    }

    fn insert_version(
        &mut self,
        pk: i64,
        rtype: &str,
        id: &str,
        version: i64,
        method: &str,
        body: Option<&str>,
    ) -> Result<u64, StoreError> {
        self.tx.execute(
            "INSERT INTO resource_versions (res_pk, practice, rtype, id, version, last_updated, method, body)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                pk.into(),
                self.practice(),
                rtype.into(),
                id.into(),
                version.into(),
                self.now.into(),
                method.into(),
                body.into(),
            ],
        )
    }

    fn practice(&self) -> SqlValue {
        self.ctx.practice.as_str().into()
    }
}

fn too_many(rtype: &str, criteria: &str, n: usize) -> FhirError {
    FhirError::PreconditionFailed(format!(
        "{n} {rtype} resources match '{criteria}'; the criteria must select one"
    ))
}

/// A new resource stamped, indexed and tagged, ready for the bulk insert.
struct Stamped {
    new: NewResource,
    text: String,
    entries: Vec<IndexEntry>,
    tags: Tags,
    flags: Vec<Flag>,
}

const FLAG_COLUMNS: &[&str] = &["practice", "patient_id", "flag", "source"];

const VERSION_COLUMNS: &[&str] = &[
    "res_pk",
    "practice",
    "rtype",
    "id",
    "version",
    "last_updated",
    "method",
    "body",
];

impl Repository {
    /// Runs `f` in a write transaction and commits. A lost race with another writer
    /// (a unique violation or serialization failure, PostgreSQL) is retried with a fresh
    /// transaction; when the client named the version it expected (`if_match_given`) it
    /// is answered with PreconditionFailed instead, since that version is now stale.
    pub(crate) fn write_tx<T>(
        &self,
        ctx: &RequestContext,
        if_match_given: bool,
        mut f: impl FnMut(&mut Writer) -> FhirResult<T>,
    ) -> FhirResult<T> {
        let mut attempt = 1;
        loop {
            let result = (|| {
                let mut tx = self.store.begin(ctx, TxMode::Write)?;
                let mut w = Writer {
                    tx: tx.as_mut(),
                    ctx,
                    dialect: self.store.dialect(),
                    now: crate::time::now_micros(),
                    audit: Vec::new(),
                    audit_as_one: None,
                };
                let value = f(&mut w)?;
                let records = w.take_audit();
                // Last, just before the commit: on PostgreSQL it takes the practice's
                // audit lock, which should be held as briefly as possible.
                AuditLog::append_in(tx.as_mut(), ctx, &records)?;
                tx.commit()?;
                Ok(value)
            })();
            match result {
                Err(FhirError::Store(StoreError::Conflict(msg))) if if_match_given => {
                    tracing::debug!(%msg, "write lost a race; the If-Match version is stale");
                    return Err(FhirError::PreconditionFailed(
                        "the resource was changed by another request; the version given is no longer current".into(),
                    ));
                }
                Err(FhirError::Store(StoreError::Conflict(msg))) if attempt < WRITE_ATTEMPTS => {
                    tracing::debug!(%msg, attempt, "write lost a race; retrying");
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(attempt as u64 * 5));
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stamp_puts_id_and_meta_first_and_keeps_the_rest_in_order() {
        let sent = json!({"birthDate": "1970-01-01", "resourceType": "Patient", "id": "old",
            "meta": {"tag": [{"code": "x"}], "versionId": "9"}, "active": true});
        let stored = stamp(sent, "p1", 2, 1_000_000);
        assert_eq!(
            stored.to_string(),
            r#"{"resourceType":"Patient","id":"p1","meta":{"lastUpdated":"1970-01-01T00:00:01.000000Z","tag":[{"code":"x"}],"versionId":"2"},"birthDate":"1970-01-01","active":true}"#
        );
    }

    #[test]
    fn stamp_keeps_decimal_digits() {
        let sent: Value = serde_json::from_str(
            r#"{"resourceType":"Observation","valueQuantity":{"value":1.50}}"#,
        )
        .unwrap();
        assert!(
            stamp(sent, "o", 1, 0)
                .to_string()
                .contains(r#""value":1.50"#)
        );
    }

    #[test]
    fn etags() {
        assert_eq!(parse_etag("W/\"3\"").unwrap(), 3);
        assert_eq!(parse_etag("\"12\"").unwrap(), 12);
        assert_eq!(parse_etag("4").unwrap(), 4);
        assert!(parse_etag("W/\"x\"").is_err());
    }

    #[test]
    fn bodies_are_checked_against_the_url() {
        let p = json!({"resourceType": "Patient", "id": "a"});
        assert!(check_body("Patient", &p, Some("a")).is_ok());
        assert_eq!(
            check_body("Observation", &p, None).unwrap_err().status(),
            400
        );
        assert_eq!(
            check_body("Patient", &p, Some("b")).unwrap_err().status(),
            400
        );
        assert_eq!(
            check_body(
                "Patient",
                &json!({"resourceType": "Patient"}),
                Some("bad id!")
            )
            .unwrap_err()
            .status(),
            400
        );
        assert_eq!(
            check_body("Patient", &json!([1]), None)
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            check_body("NoSuchType", &json!({"resourceType": "NoSuchType"}), None)
                .unwrap_err()
                .status(),
            400
        );
    }
}
