//! How OpenGP represents a GP record in FHIR R4: one place for the code systems,
//! extension URLs and links that the workspace, the demo practice, the FHIR API's users
//! and a future GP2GP export all rely on. The shapes follow UK Core where it has an
//! element, and GP Connect (Access Record Structured) for what UK Core leaves open:
//! consultations as Lists, problem headers, problem significance.
//!
//! **Patient** (UK Core Patient)
//! - `identifier`: [`NHS_NUMBER_SYSTEM`], with the [`NHS_NUMBER_VERIFICATION_EXT`]
//!   extension holding a coding of [`NHS_NUMBER_VERIFICATION_SYSTEM`] (`01` to `08`).
//! - `generalPractitioner`: the usual GP (`Practitioner/…`) then the practice
//!   (`Organization/…`).
//! - Contact preferences: [`CONTACT_PREFERENCE_EXT`] (sub-extensions
//!   `PreferredContactMethod`, `PreferredContactTimes`), and `telecom` with `rank` 1 on
//!   the preferred number or address.
//! - A sensitive patient (PDS `R` flag) has `meta.security` `R` ([`CONFIDENTIALITY_SYSTEM`]).
//!
//! **Registration**: an `EpisodeOfCare` per registration, `status` active (finished when
//! the patient leaves), `type` a coding of [`REGISTRATION_TYPE_SYSTEM`] (see
//! [`RegistrationType`]), `period.start` the registration date, `careManager` the named
//! accountable GP, `managingOrganization` the practice.
//!
//! **Consultation** (GP Connect): an `Encounter` (`type` from [`ENCOUNTER_TYPES`],
//! `participant` the clinician, `period`, `serviceProvider` the practice) and
//! - a consultation `List` ([`CONSULTATION_LIST`]; `encounter`, `subject`, `date`,
//!   `title` the encounter type's display) whose entries are
//! - topic `List`s ([`TOPIC_LIST`]; `title`, and [`RELATED_PROBLEM_HEADER_EXT`] with a
//!   `target` sub-extension pointing at the problem `Condition` when the topic is about
//!   a problem) whose entries are
//! - category `List`s ([`CATEGORY_LIST`]; `title` one of [`HEADINGS`]) whose entries are
//!   the clinical entries: Observation, Condition, Procedure, AllergyIntolerance,
//!   Immunization, MedicationRequest, Task, DocumentReference.
//! - Every entry carries the encounter (`encounter`, `context.encounter` on
//!   DocumentReference, the [`ASSOCIATED_ENCOUNTER_EXT`] extension on
//!   AllergyIntolerance) and its author (`performer`/`recorder`/`asserter`/`requester`/
//!   `author`).
//! - Free text entered under a heading with no code is an Observation with the heading's
//!   code ([`HEADINGS`]) and `valueString`.
//!
//! **Problems**: a `Condition` with category [`PROBLEM_LIST_ITEM`]; active problems have
//! `clinicalStatus` active, past problems inactive or resolved (with `abatementDateTime`);
//! [`PROBLEM_SIGNIFICANCE_EXT`] `valueCode` `major` or `minor`;
//! [`RELATED_CLINICAL_CONTENT_EXT`] `valueReference` for each entry linked to the problem;
//! a later episode of the same problem is a new Condition with [`PROBLEM_EPISODE_EXT`]
//! (`first`, `new`, `review`, `end`) and [`RELATED_PROBLEM_HEADER_EXT`] (`type` `child`,
//! `target` the first episode). A diagnosis that is not a problem is a Condition with
//! category [`ENCOUNTER_DIAGNOSIS`].
//!
//! **Observations**: the SNOMED CT code of what was measured, `valueQuantity` in UCUM
//! ([`UCUM`]), `effectiveDateTime`; blood pressure is one Observation
//! ([`BLOOD_PRESSURE`]) with systolic and diastolic `component`s.
//!
//! **Alerts**: `Flag` (`status` active/inactive, `category` of [`FLAG_CATEGORY_SYSTEM`],
//! `code` text or SNOMED CT, `period`, `author`).
//!
//! **Tasks**: `Task` (`status` requested → in-progress → completed/cancelled, `intent`
//! order, `priority` routine/urgent, `for` the patient, `requester` and `owner`
//! Practitioners, `description`, `restriction.period.end` the due date, `authoredOn`).
//!
//! **Drafts**: a consultation being written is a `QuestionnaireResponse` with status
//! `in-progress`, `questionnaire` [`CONSULTATION_DRAFT_QUESTIONNAIRE`], `subject` the
//! patient, `author` the clinician, and one item [`DRAFT_ITEM`] whose `valueString` is
//! the form's fields as JSON, labelled `meta.security` V (v3-Confidentiality), which
//! seals it to the clinician who wrote it: colleagues and apps cannot find it, and only
//! break-glass (audited) opens it. Saving the consultation deletes it in the same
//! transaction.

pub const SNOMED: &str = "http://snomed.info/sct";
pub const UCUM: &str = "http://unitsofmeasure.org";
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
pub const ODS_ORGANIZATION_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
pub const SDS_USER_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-user-id";
pub const CONFIDENTIALITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

pub const NHS_NUMBER_VERIFICATION_EXT: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";
pub const NHS_NUMBER_VERIFICATION_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";
pub const CONTACT_PREFERENCE_EXT: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-ContactPreference";
pub const PREFERRED_CONTACT_METHOD_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-PreferredContactMethod";

/// NHS number verification status (UK Core), code and display.
pub const NHS_NUMBER_VERIFICATION: [(&str, &str); 8] = [
    ("01", "Number present and verified"),
    ("02", "Number present but not traced"),
    ("03", "Trace required"),
    ("04", "Trace attempted - No match or multiple match found"),
    (
        "05",
        "Trace needs to be resolved - (NHS number or patient detail conflict)",
    ),
    ("06", "Trace in progress"),
    ("07", "Number not present and trace not required"),
    ("08", "Trace postponed (baby under six weeks old)"),
];

pub const REGISTRATION_TYPE_SYSTEM: &str =
    "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-RegistrationType-1";

/// How a patient is registered with the practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationType {
    /// Permanent (GMS "regular") registration.
    Permanent,
    /// Temporary resident (up to three months).
    Temporary,
    /// Immediately necessary treatment (up to 14 days).
    ImmediatelyNecessary,
}

impl RegistrationType {
    pub const ALL: [RegistrationType; 3] = [
        RegistrationType::Permanent,
        RegistrationType::Temporary,
        RegistrationType::ImmediatelyNecessary,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RegistrationType::Permanent => "R",
            RegistrationType::Temporary => "T",
            RegistrationType::ImmediatelyNecessary => "IN",
        }
    }

    pub fn display(self) -> &'static str {
        match self {
            RegistrationType::Permanent => "Permanent",
            RegistrationType::Temporary => "Temporary",
            RegistrationType::ImmediatelyNecessary => "Immediately necessary",
        }
    }

    pub fn from_code(code: &str) -> Option<RegistrationType> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }
}

// GP Connect consultation structure (SNOMED CT UK codes of the List kinds).
pub const CONSULTATION_LIST: (&str, &str) = ("325851000000107", "Consultation");
pub const TOPIC_LIST: (&str, &str) = ("25851000000105", "Topic (EHR)");
pub const CATEGORY_LIST: (&str, &str) = ("24781000000107", "Category (EHR)");

/// The headings of a consultation, with the code of a free-text entry under each.
pub const HEADINGS: [(&str, &str, &str); 6] = [
    ("history", "History", "371524004"),
    ("examination", "Examination", "271906008"),
    ("diagnosis", "Diagnosis", "439401001"),
    ("procedure", "Procedure", "71388002"),
    ("plan", "Plan", "736271009"),
    ("comment", "Comment", "281296001"),
];

/// Consultation (Encounter) types: SNOMED CT code and display.
pub const ENCOUNTER_TYPES: [(&str, &str); 6] = [
    ("185317003", "Telephone encounter"),
    ("185316007", "Indirect encounter"),
    ("439708006", "Home visit"),
    ("11429006", "Consultation"),
    ("325871000000103", "Video consultation"),
    ("386472008", "Telephone consultation"),
];

pub const RELATED_PROBLEM_HEADER_EXT: &str =
    "https://fhir.hl7.org.uk/STU3/StructureDefinition/Extension-CareConnect-RelatedProblemHeader-1";
pub const PROBLEM_SIGNIFICANCE_EXT: &str =
    "https://fhir.hl7.org.uk/STU3/StructureDefinition/Extension-CareConnect-ProblemSignificance-1";
pub const RELATED_CLINICAL_CONTENT_EXT: &str = "https://fhir.hl7.org.uk/STU3/StructureDefinition/Extension-CareConnect-RelatedClinicalContent-1";
pub const PROBLEM_EPISODE_EXT: &str =
    "https://fhir.hl7.org.uk/STU3/StructureDefinition/Extension-CareConnect-ConditionEpisode-1";
pub const ASSOCIATED_ENCOUNTER_EXT: &str =
    "http://hl7.org/fhir/StructureDefinition/encounter-associatedEncounter";

pub const CONDITION_CATEGORY_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/condition-category";
pub const PROBLEM_LIST_ITEM: &str = "problem-list-item";
pub const ENCOUNTER_DIAGNOSIS: &str = "encounter-diagnosis";
pub const CONDITION_CLINICAL_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/condition-clinical";
pub const CONDITION_VERIFICATION_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/condition-ver-status";

pub const BLOOD_PRESSURE: (&str, &str) = ("75367002", "Blood pressure");
pub const SYSTOLIC: (&str, &str) = ("271649006", "Systolic blood pressure");
pub const DIASTOLIC: (&str, &str) = ("271650006", "Diastolic blood pressure");

pub const FLAG_CATEGORY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/flag-category";

pub const CONSULTATION_DRAFT_QUESTIONNAIRE: &str =
    "https://opengp.org.uk/Questionnaire/consultation-draft";
pub const DRAFT_ITEM: &str = "form";

/// `Type/id` of a reference, or `None` if it is not a plain relative reference.
pub fn reference_parts(reference: &str) -> Option<(&str, &str)> {
    let (rtype, id) = reference.split_once('/')?;
    (!rtype.is_empty() && !id.is_empty() && !id.contains('/')).then_some((rtype, id))
}
