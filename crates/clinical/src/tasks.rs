//! Tasks between colleagues (FHIR `Task`, see [`crate::conventions`]): create one,
//! the owner's inbox, the tasks a user sent, and the moves a task makes (start,
//! complete with a note, reassign, cancel). Every change is a version-checked update
//! (`If-Match`), so two people acting on the same task cannot overwrite each other.
//!
//! Who may make which move is decided here ([`permission`]), on top of the store's
//! access rules: only the owner starts or completes a task (so it cannot be closed by
//! someone who did not do the work); the owner or the sender cancels or reassigns it;
//! a practice manager may cancel or reassign any task, so an absent colleague's inbox
//! can be shared out. A task with no owner in person (unassigned, or owned by an
//! organisation) can be started, completed or assigned by anyone with clinical rights.

use crate::conventions::reference_parts;
use crate::fetch;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use fhir::uk::PersonName;
use serde_json::{Value, json};
use std::collections::HashMap;
use store::{FhirError, Repository, RequestContext, Role};

/// The longest description a task may have (it is a message, not a letter).
pub const MAX_DESCRIPTION: usize = 2000;
/// The most tasks one list shows.
const LIST_LIMIT: &str = "200";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    Urgent,
    #[default]
    Routine,
}

impl Priority {
    pub fn code(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::Routine => "routine",
        }
    }

    pub fn from_code(code: &str) -> Option<Priority> {
        match code {
            "urgent" => Some(Priority::Urgent),
            "routine" => Some(Priority::Routine),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    Requested,
    InProgress,
    OnHold,
    Completed,
    Cancelled,
    /// Any other FHIR task status (set through the API).
    Other,
}

impl TaskStatus {
    /// The statuses of a task someone still has to do.
    pub const OPEN: [TaskStatus; 3] = [
        TaskStatus::Requested,
        TaskStatus::InProgress,
        TaskStatus::OnHold,
    ];

    pub fn code(self) -> &'static str {
        match self {
            TaskStatus::Requested => "requested",
            TaskStatus::InProgress => "in-progress",
            TaskStatus::OnHold => "on-hold",
            TaskStatus::Completed => "completed",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::Other => "other",
        }
    }

    pub fn display(self) -> &'static str {
        match self {
            TaskStatus::Requested => "To do",
            TaskStatus::InProgress => "In progress",
            TaskStatus::OnHold => "On hold",
            TaskStatus::Completed => "Completed",
            TaskStatus::Cancelled => "Cancelled",
            TaskStatus::Other => "Closed",
        }
    }

    fn from_code(code: &str) -> TaskStatus {
        match code {
            "requested" => TaskStatus::Requested,
            "in-progress" => TaskStatus::InProgress,
            "on-hold" => TaskStatus::OnHold,
            "completed" => TaskStatus::Completed,
            "cancelled" => TaskStatus::Cancelled,
            _ => TaskStatus::Other,
        }
    }

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

/// A person a task names, with a name to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// The resource id (`Patient/{id}` or `Practitioner/{id}` without the type).
    pub id: String,
    /// Their name, or `None` if the record could not be read (not visible to this user).
    pub name: Option<String>,
}

/// A task as the lists and pages show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSummary {
    pub id: String,
    /// The version, for `If-Match` on the next change.
    pub version: i64,
    pub status: TaskStatus,
    pub priority: Priority,
    pub description: String,
    pub due: Option<NaiveDate>,
    pub overdue: bool,
    pub patient: Option<Party>,
    pub owner: Option<Party>,
    pub requester: Option<Party>,
    /// `YYYY-MM-DD` the task was set.
    pub authored_on: Option<String>,
    /// Notes added on the way (completion notes, reassignment notes), oldest first.
    pub notes: Vec<String>,
}

/// A new task, typed: the web layer reads its form into this.
#[derive(Debug, Clone, Default)]
pub struct NewTask<'a> {
    /// Patient id, if the task is about a patient.
    pub patient: Option<&'a str>,
    /// Practitioner id of whom the task is for.
    pub owner: Option<&'a str>,
    pub description: &'a str,
    pub due: Option<NaiveDate>,
    pub priority: Priority,
}

/// The parts of a task a user fills in. Problems name these; the web layer maps them to
/// its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskField {
    Patient,
    Owner,
    Description,
    Due,
    Priority,
    Note,
}

/// What is wrong with one part of a task, in plain English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskProblem {
    pub field: TaskField,
    pub message: String,
}

/// The problems found in a task a user entered; empty means it can be saved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskProblems(pub Vec<TaskProblem>);

impl TaskProblems {
    pub fn add(&mut self, field: TaskField, message: impl Into<String>) {
        self.0.push(TaskProblem {
            field,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message about `field`, if there is one.
    pub fn get(&self, field: TaskField) -> Option<&str> {
        self.0
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.message.as_str())
    }
}

impl std::fmt::Display for TaskProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|p| format!("{:?}: {}", p.field, p.message))
            .collect();
        f.write_str(&parts.join("; "))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// Something the user entered; nothing was saved.
    #[error("{0}")]
    Invalid(TaskProblems),
    /// The task is completed or cancelled already.
    #[error("this task is closed already")]
    Closed,
    /// This user may not make this move on this task (see [`permission`]); nothing was
    /// changed. The message says who may.
    #[error("{0}")]
    NotAllowed(String),
    #[error(transparent)]
    Store(#[from] FhirError),
}

impl TaskError {
    fn field(field: TaskField, message: &str) -> TaskError {
        let mut problems = TaskProblems::default();
        problems.add(field, message);
        TaskError::Invalid(problems)
    }
}

/// A move someone can make on an open task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Complete,
    Cancel,
    Reassign,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Start,
        Action::Complete,
        Action::Cancel,
        Action::Reassign,
    ];

    pub fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Complete => "complete",
            Action::Cancel => "cancel",
            Action::Reassign => "reassign",
        }
    }
}

/// Whether the user behind `ctx` may make `action` on `task`, by who they are (their
/// linked Practitioner) and their role; `Err` says who may, in words for the user. The
/// store's access rules still apply on top (a receptionist can change no task at all).
pub fn permission(ctx: &RequestContext, task: &TaskSummary, action: Action) -> Result<(), String> {
    // OpenGP itself (loading, the demo) acts for the practice.
    if ctx.access.unrestricted {
        return Ok(());
    }
    let staff = ctx.access.staff.as_ref();
    let me = staff
        .and_then(|s| s.practitioner.as_deref())
        .map(|p| p.strip_prefix("Practitioner/").unwrap_or(p));
    let is_me = |party: &Option<Party>| party.as_ref().is_some_and(|p| Some(p.id.as_str()) == me);
    let manager = staff.is_some_and(|s| s.role == Role::PracticeManager);
    let unassigned = task.owner.is_none();
    let allowed = match action {
        Action::Start | Action::Complete => unassigned || is_me(&task.owner),
        Action::Cancel => is_me(&task.owner) || is_me(&task.requester) || manager,
        Action::Reassign => unassigned || is_me(&task.owner) || is_me(&task.requester) || manager,
    };
    if allowed {
        return Ok(());
    }
    Err(refusal(task, action))
}

/// The moves the user behind `ctx` may make on `task` now (none once it is closed).
pub fn allowed_actions(ctx: &RequestContext, task: &TaskSummary) -> Vec<Action> {
    if !task.status.is_open() {
        return Vec::new();
    }
    Action::ALL
        .into_iter()
        .filter(|a| !(*a == Action::Start && task.status == TaskStatus::InProgress))
        .filter(|a| permission(ctx, task, *a).is_ok())
        .collect()
}

/// "Only Ben Patel (the task's owner) can complete this task", and the like.
fn refusal(task: &TaskSummary, action: Action) -> String {
    let named =
        |party: &Option<Party>, what: &str| match party.as_ref().and_then(|p| p.name.as_deref()) {
            Some(name) => format!("{name} ({what})"),
            None => what.to_string(),
        };
    let owner = named(&task.owner, "the task's owner");
    let verb = action.verb();
    if matches!(action, Action::Start | Action::Complete) {
        return format!(
            "Only {owner} can {verb} this task. If it is not theirs to do, they or the sender \
             can reassign it."
        );
    }
    let same_person = matches!((&task.owner, &task.requester), (Some(o), Some(r)) if o.id == r.id);
    let mut who = Vec::new();
    if task.owner.is_some() && !same_person {
        who.push(owner);
    }
    if task.requester.is_some() {
        who.push(named(&task.requester, "who sent it"));
    }
    who.push("a practice manager".to_string());
    let last = who.pop().expect("a practice manager at least");
    let list = match who.is_empty() {
        true => last,
        false => format!("{} or {last}", who.join(", ")),
    };
    format!("Only {list} can {verb} this task.")
}

/// What is wrong with a new task: an owner who exists, a description, a due date that
/// is not in the past and, if given, a patient this user can see. Returns the owner.
pub fn check_new(
    repo: &Repository,
    ctx: &RequestContext,
    task: &NewTask,
    today: NaiveDate,
) -> Result<(TaskProblems, Option<String>), FhirError> {
    let mut problems = TaskProblems::default();
    let owner = match task.owner.map(str::trim).filter(|o| !o.is_empty()) {
        None => {
            problems.add(TaskField::Owner, "Choose who the task is for");
            None
        }
        Some(owner) => match practitioner_exists(repo, ctx, owner)? {
            true => Some(owner.to_string()),
            false => {
                problems.add(TaskField::Owner, "Choose a colleague from the list");
                None
            }
        },
    };
    let description = task.description.trim();
    if description.is_empty() {
        problems.add(TaskField::Description, "Enter what needs doing");
    } else if description.chars().count() > MAX_DESCRIPTION {
        problems.add(
            TaskField::Description,
            format!("Keep the description to {MAX_DESCRIPTION} characters or fewer"),
        );
    }
    if task.due.is_some_and(|due| due < today) {
        problems.add(
            TaskField::Due,
            "The due date must be today or in the future",
        );
    }
    if let Some(id) = task.patient.map(str::trim).filter(|p| !p.is_empty()) {
        let id = id.strip_prefix("Patient/").unwrap_or(id);
        match repo.read(ctx, "Patient", id) {
            Ok(_) => {}
            Err(FhirError::NotFound(_) | FhirError::Gone(_)) => {
                problems.add(TaskField::Patient, "That patient record was not found");
            }
            Err(e) => return Err(e),
        }
    }
    Ok((problems, owner))
}

/// Creates a task from `requester` (`Practitioner/{id}`) once [`check_new`] finds
/// nothing wrong. Returns the new task's id.
pub fn create(
    repo: &Repository,
    ctx: &RequestContext,
    requester: &str,
    input: &NewTask,
    today: NaiveDate,
) -> Result<String, TaskError> {
    let (problems, owner) = check_new(repo, ctx, input, today)?;
    if !problems.is_empty() {
        return Err(TaskError::Invalid(problems));
    }
    let description = input.description.trim();
    let priority = input.priority;
    let due = input.due;
    let patient = input
        .patient
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|id| id.strip_prefix("Patient/").unwrap_or(id));
    let owner = owner.expect("an owner when there are no errors");
    let mut task = json!({
        "resourceType": "Task",
        "status": TaskStatus::Requested.code(),
        "intent": "order",
        "priority": priority.code(),
        "description": description,
        "authoredOn": now_text(),
        "requester": {"reference": practitioner_reference(requester)},
        "owner": {"reference": practitioner_reference(&owner)},
    });
    if let Some(patient) = patient {
        task["for"] = json!({"reference": format!("Patient/{patient}")});
    }
    if let Some(due) = due {
        task["restriction"] = json!({"period": {"end": due.format("%Y-%m-%d").to_string()}});
    }
    let outcome = repo.create(ctx, "Task", task, None)?;
    Ok(outcome.resource.id)
}

/// The open tasks owned by `practitioner` (`Practitioner/{id}`): overdue first, then
/// urgent, then by due date (undated last), then oldest first.
pub fn inbox(
    repo: &Repository,
    ctx: &RequestContext,
    practitioner: &str,
    today: NaiveDate,
) -> Result<Vec<TaskSummary>, FhirError> {
    let owner = practitioner_reference(practitioner);
    let statuses = open_statuses();
    let mut tasks = list(
        repo,
        ctx,
        &[("owner", owner.as_str()), ("status", statuses.as_str())],
        today,
    )?;
    tasks.sort_by(|a, b| {
        (
            !a.overdue,
            a.priority,
            a.due.is_none(),
            a.due,
            &a.authored_on,
        )
            .cmp(&(
                !b.overdue,
                b.priority,
                b.due.is_none(),
                b.due,
                &b.authored_on,
            ))
    });
    Ok(tasks)
}

/// The tasks `practitioner` set, open or not, newest first.
pub fn sent_by(
    repo: &Repository,
    ctx: &RequestContext,
    practitioner: &str,
    today: NaiveDate,
) -> Result<Vec<TaskSummary>, FhirError> {
    let requester = practitioner_reference(practitioner);
    let mut tasks = list(repo, ctx, &[("requester", requester.as_str())], today)?;
    tasks.sort_by(|a, b| b.authored_on.cmp(&a.authored_on).then(b.id.cmp(&a.id)));
    Ok(tasks)
}

/// One task, with names.
pub fn get(
    repo: &Repository,
    ctx: &RequestContext,
    id: &str,
    today: NaiveDate,
) -> Result<TaskSummary, FhirError> {
    let tasks = list(repo, ctx, &[("_id", id)], today)?;
    tasks
        .into_iter()
        .next()
        .ok_or_else(|| FhirError::NotFound(format!("Task/{id}")))
}

/// The owner starts work on the task.
pub fn start(
    repo: &Repository,
    ctx: &RequestContext,
    id: &str,
    version: i64,
) -> Result<(), TaskError> {
    change(repo, ctx, id, version, Action::Start, |task| {
        task["status"] = json!(TaskStatus::InProgress.code());
        Ok(())
    })
}

/// Marks the task done, with an optional note of what was done by `author`.
pub fn complete(
    repo: &Repository,
    ctx: &RequestContext,
    id: &str,
    version: i64,
    author: Option<&str>,
    note: Option<&str>,
) -> Result<(), TaskError> {
    change(repo, ctx, id, version, Action::Complete, |task| {
        let note = checked_note(note)?;
        task["status"] = json!(TaskStatus::Completed.code());
        add_note(task, author, note.as_deref());
        Ok(())
    })
}

/// Cancels the task (nobody needs to do it any more), with an optional reason.
pub fn cancel(
    repo: &Repository,
    ctx: &RequestContext,
    id: &str,
    version: i64,
    author: Option<&str>,
    note: Option<&str>,
) -> Result<(), TaskError> {
    change(repo, ctx, id, version, Action::Cancel, |task| {
        let note = checked_note(note)?;
        task["status"] = json!(TaskStatus::Cancelled.code());
        add_note(task, author, note.as_deref());
        Ok(())
    })
}

/// Gives the task to another colleague; it is back to "to do" for them.
pub fn reassign(
    repo: &Repository,
    ctx: &RequestContext,
    id: &str,
    version: i64,
    new_owner: Option<&str>,
    author: Option<&str>,
    note: Option<&str>,
) -> Result<(), TaskError> {
    // Checked inside the change, after the permission: someone who may not reassign
    // the task is told so rather than corrected on the form.
    change(repo, ctx, id, version, Action::Reassign, |task| {
        let Some(new_owner) = new_owner.map(str::trim).filter(|o| !o.is_empty()) else {
            return Err(TaskError::field(
                TaskField::Owner,
                "Choose who the task is for",
            ));
        };
        if !practitioner_exists(repo, ctx, new_owner)? {
            return Err(TaskError::field(
                TaskField::Owner,
                "Choose a colleague from the list",
            ));
        }
        let note = checked_note(note)?;
        let owner = practitioner_reference(new_owner);
        if task["owner"]["reference"] == owner.as_str() {
            return Err(TaskError::field(
                TaskField::Owner,
                "The task is already theirs: choose someone else",
            ));
        }
        task["owner"] = json!({"reference": owner});
        task["status"] = json!(TaskStatus::Requested.code());
        add_note(task, author, note.as_deref());
        Ok(())
    })
}

// --- reading ---

fn open_statuses() -> String {
    TaskStatus::OPEN
        .iter()
        .map(|s| s.code())
        .collect::<Vec<_>>()
        .join(",")
}

/// Tasks matching `params`, with the patients and practitioners they name.
fn list(
    repo: &Repository,
    ctx: &RequestContext,
    params: &[(&str, &str)],
    today: NaiveDate,
) -> Result<Vec<TaskSummary>, FhirError> {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.extend([
        ("_count", LIST_LIMIT),
        ("_include", "Task:subject"),
        ("_include", "Task:owner"),
        ("_include", "Task:requester"),
    ]);
    let searched = repo.find(ctx, "Task", &all)?;
    let store::Found {
        matches: tasks,
        included,
    } = searched;
    let names: HashMap<String, String> = included
        .iter()
        .filter_map(|r| {
            let reference = format!("{}/{}", r["resourceType"].as_str()?, r["id"].as_str()?);
            Some((reference, PersonName::display_of(r)))
        })
        .collect();
    Ok(tasks
        .iter()
        .filter_map(|task| summarise(task, &names, today))
        .collect())
}

fn summarise(
    task: &Value,
    names: &HashMap<String, String>,
    today: NaiveDate,
) -> Option<TaskSummary> {
    let party = |element: &Value, rtype: &str| -> Option<Party> {
        let reference = element["reference"].as_str()?;
        let (t, id) = reference_parts(reference)?;
        (t == rtype).then(|| Party {
            id: id.to_string(),
            name: names.get(reference).cloned(),
        })
    };
    let status = TaskStatus::from_code(task["status"].as_str().unwrap_or_default());
    let due = task["restriction"]["period"]["end"]
        .as_str()
        .and_then(|d| d.get(..10))
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    Some(TaskSummary {
        id: task["id"].as_str()?.to_string(),
        version: task["meta"]["versionId"].as_str()?.parse().ok()?,
        status,
        priority: task["priority"]
            .as_str()
            .and_then(Priority::from_code)
            .unwrap_or(Priority::Routine),
        description: task["description"].as_str().unwrap_or_default().to_string(),
        due,
        overdue: status.is_open() && due.is_some_and(|d| d < today),
        patient: party(&task["for"], "Patient"),
        owner: party(&task["owner"], "Practitioner"),
        requester: party(&task["requester"], "Practitioner"),
        authored_on: task["authoredOn"]
            .as_str()
            .and_then(|d| d.get(..10))
            .map(str::to_string),
        notes: task["note"]
            .as_array()
            .map(|notes| {
                notes
                    .iter()
                    .filter_map(|n| n["text"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

// --- writing ---

/// Reads the task, checks this user may make the move, that it is still open and at
/// `version`, applies `edit` and writes it back with `If-Match: version`.
fn change(
    repo: &Repository,
    ctx: &RequestContext,
    id: &str,
    version: i64,
    action: Action,
    edit: impl FnOnce(&mut Value) -> Result<(), TaskError>,
) -> Result<(), TaskError> {
    // With names, for a refusal that says who may.
    let summary = get(repo, ctx, id, Utc::now().date_naive())?;
    permission(ctx, &summary, action).map_err(TaskError::NotAllowed)?;
    let (mut task, current) = fetch::read(repo, ctx, "Task", id)?;
    if current != version {
        return Err(FhirError::PreconditionFailed(format!(
            "Task/{id} is at version {current}, not {version}"
        ))
        .into());
    }
    let status = TaskStatus::from_code(task["status"].as_str().unwrap_or_default());
    if !status.is_open() {
        return Err(TaskError::Closed);
    }
    edit(&mut task)?;
    // The store sets the version and time; an emptied `meta` must go altogether.
    if let Some(meta) = task.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            task.as_object_mut()
                .expect("a Task is an object")
                .remove("meta");
        }
    }
    task["lastModified"] = json!(now_text());
    repo.update(ctx, "Task", id, task, Some(version))?;
    Ok(())
}

fn checked_note(note: Option<&str>) -> Result<Option<String>, TaskError> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    match note {
        Some(n) if n.chars().count() > MAX_DESCRIPTION => Err(TaskError::field(
            TaskField::Note,
            &format!("Keep the note to {MAX_DESCRIPTION} characters or fewer"),
        )),
        other => Ok(other.map(str::to_string)),
    }
}

fn add_note(task: &mut Value, author: Option<&str>, note: Option<&str>) {
    let Some(text) = note else { return };
    let mut annotation = json!({"text": text, "time": now_text()});
    if let Some(author) = author {
        annotation["authorReference"] = json!({"reference": practitioner_reference(author)});
    }
    match task["note"].as_array_mut() {
        Some(notes) => notes.push(annotation),
        None => task["note"] = json!([annotation]),
    }
}

fn practitioner_exists(
    repo: &Repository,
    ctx: &RequestContext,
    practitioner: &str,
) -> Result<bool, FhirError> {
    let id = practitioner
        .strip_prefix("Practitioner/")
        .unwrap_or(practitioner);
    if id.is_empty() || id.contains('/') {
        return Ok(false);
    }
    match repo.read(ctx, "Practitioner", id) {
        Ok(_) => Ok(true),
        Err(FhirError::NotFound(_) | FhirError::Gone(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `Practitioner/{id}` from an id or a reference.
fn practitioner_reference(practitioner: &str) -> String {
    if practitioner.starts_with("Practitioner/") {
        practitioner.to_string()
    } else {
        format!("Practitioner/{practitioner}")
    }
}

fn now_text() -> String {
    let now: DateTime<Utc> = Utc::now();
    now.to_rfc3339_opts(SecondsFormat::Secs, true)
}
