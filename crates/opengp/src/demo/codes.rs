//! The clinical codes the demo records use. SNOMED CT (UK edition) for problems,
//! findings and vaccines; dm+d (which UK Core carries in the SNOMED CT system) for
//! medicines; LOINC alongside SNOMED CT for vital signs, as the R4 vital-signs profile
//! asks; UCUM for units.

use serde_json::{Value, json};

pub const SNOMED: &str = "http://snomed.info/sct";
pub const LOINC: &str = "http://loinc.org";
pub const UCUM: &str = "http://unitsofmeasure.org";
pub const NHS_NUMBER: &str = "https://fhir.nhs.uk/Id/nhs-number";
pub const ODS_CODE: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// A code with its display, in one system.
#[derive(Debug, Clone, Copy)]
pub struct Code {
    pub system: &'static str,
    pub code: &'static str,
    pub display: &'static str,
}

pub const fn sct(code: &'static str, display: &'static str) -> Code {
    Code {
        system: SNOMED,
        code,
        display,
    }
}

pub const fn loinc(code: &'static str, display: &'static str) -> Code {
    Code {
        system: LOINC,
        code,
        display,
    }
}

impl Code {
    pub fn coding(&self) -> Value {
        json!({"system": self.system, "code": self.code, "display": self.display})
    }
}

/// A CodeableConcept of one or more codings, SNOMED CT first (the code OpenGP reads);
/// its text is the first display.
pub fn concept(codes: &[Code]) -> Value {
    let ordered: Vec<&Code> = codes
        .iter()
        .filter(|c| c.system == SNOMED)
        .chain(codes.iter().filter(|c| c.system != SNOMED))
        .collect();
    json!({
        "coding": ordered.iter().map(|c| c.coding()).collect::<Vec<_>>(),
        "text": ordered[0].display,
    })
}

/// A CodeableConcept of one code from a FHIR-defined code system (no text needed).
pub fn hl7_concept(system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [{"system": system, "code": code, "display": display}]})
}

// Long-term conditions.
pub const HYPERTENSION: Code = sct("38341003", "Hypertensive disorder, systemic arterial");
pub const TYPE_2_DIABETES: Code = sct("44054006", "Diabetes mellitus type 2");
pub const ASTHMA: Code = sct("195967001", "Asthma");
pub const COPD: Code = sct("13645005", "Chronic obstructive lung disease");
pub const DEPRESSION: Code = sct("35489007", "Depressive disorder");
pub const HYPOTHYROIDISM: Code = sct("40930008", "Hypothyroidism");
pub const ATRIAL_FIBRILLATION: Code = sct("49436004", "Atrial fibrillation");
pub const KNEE_OSTEOARTHRITIS: Code = sct("239873007", "Osteoarthritis of knee");

// Acute problems seen in consultations.
pub const URTI: Code = sct("54150009", "Upper respiratory infection");
pub const CHEST_INFECTION: Code = sct("50417007", "Lower respiratory tract infection");
pub const BACK_PAIN: Code = sct("279039007", "Low back pain");
pub const UTI: Code = sct("68566005", "Urinary tract infectious disease");
pub const TONSILLITIS: Code = sct("90176007", "Tonsillitis");
pub const FATIGUE: Code = sct("84229001", "Fatigue");

// Staff roles.
pub const REGISTERED_NURSE: Code = sct("224535009", "Registered nurse");

// Encounter types (a subset of `clinical::conventions::ENCOUNTER_TYPES`).
pub const FACE_TO_FACE: Code = sct("11429006", "Consultation");
pub const TELEPHONE: Code = sct("386472008", "Telephone consultation");
pub const HOME_VISIT: Code = sct("439708006", "Home visit");
pub const INDIRECT: Code = sct("185316007", "Indirect encounter");

// More long-term conditions, pregnancy and acute problems.
pub const CKD: Code = sct("709044004", "Chronic kidney disease");
pub const PREGNANCY: Code = sct("77386006", "Pregnancy");
pub const OTITIS_MEDIA: Code = sct("65363002", "Otitis media");
pub const RASH: Code = sct("271807003", "Eruption of skin");
pub const ECZEMA: Code = sct("43116000", "Eczema");
pub const HEARING_LOSS: Code = sct("15188001", "Hearing loss");

// Procedures recorded in consultations.
pub const DIABETIC_FOOT_EXAM: Code = sct("401191002", "Diabetic foot examination");
pub const RETINAL_SCREENING: Code = sct("722161008", "Diabetic retinal eye exam");
pub const ANTENATAL_CARE: Code = sct("424525001", "Antenatal care");
pub const NORMAL_DELIVERY: Code = sct("48782003", "Delivery normal");
pub const POSTNATAL_CARE: Code = sct("133906008", "Postpartum care");
pub const ASTHMA_REVIEW: Code = sct("270442000", "Asthma monitoring check done");
pub const MEDICATION_REVIEW: Code = sct("88551000000109", "Medication review with patient");

// Observations.
pub const BP_PANEL: [Code; 2] = [
    loinc("85354-9", "Blood pressure panel with all children optional"),
    sct("75367002", "Blood pressure"),
];
pub const SYSTOLIC: [Code; 2] = [
    loinc("8480-6", "Systolic blood pressure"),
    sct("271649006", "Systolic blood pressure"),
];
pub const DIASTOLIC: [Code; 2] = [
    loinc("8462-4", "Diastolic blood pressure"),
    sct("271650006", "Diastolic blood pressure"),
];
pub const BODY_WEIGHT: [Code; 2] = [
    loinc("29463-7", "Body weight"),
    sct("27113001", "Body weight"),
];
pub const BODY_HEIGHT: [Code; 2] = [
    loinc("8302-2", "Body height"),
    sct("50373000", "Body height measure"),
];
pub const BMI: [Code; 2] = [
    loinc("39156-5", "Body mass index (BMI) [Ratio]"),
    sct("60621009", "Body mass index"),
];
pub const HBA1C: [Code; 2] = [
    loinc(
        "59261-8",
        "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol",
    ),
    sct(
        "999791000000106",
        "Haemoglobin A1c level - IFCC standardised",
    ),
];
pub const PEAK_FLOW: [Code; 2] = [
    loinc(
        "33452-4",
        "Maximum expiratory gas flow Respiratory system airway by Peak flow meter",
    ),
    sct("18491006", "Peak expiratory flow rate"),
];
pub const BODY_TEMPERATURE: [Code; 2] = [
    loinc("8310-5", "Body temperature"),
    sct("386725007", "Body temperature"),
];
pub const HEART_RATE: [Code; 2] = [
    loinc("8867-4", "Heart rate"),
    sct("364075005", "Heart rate"),
];
pub const OXYGEN_SATURATION: [Code; 3] = [
    sct("431314004", "Peripheral oxygen saturation"),
    loinc("2708-6", "Oxygen saturation in Arterial blood"),
    loinc(
        "59408-5",
        "Oxygen saturation in Arterial blood by Pulse oximetry",
    ),
];
// Yearly blood tests of people with hypertension, diabetes or atrial fibrillation.
pub const SERUM_SODIUM: [Code; 2] = [
    loinc("2951-2", "Sodium [Moles/volume] in Serum or Plasma"),
    sct("1000661000000107", "Serum sodium level"),
];
pub const SERUM_POTASSIUM: [Code; 2] = [
    loinc("2823-3", "Potassium [Moles/volume] in Serum or Plasma"),
    sct("1000651000000109", "Serum potassium level"),
];
pub const SERUM_CREATININE: [Code; 2] = [
    loinc("14682-9", "Creatinine [Moles/volume] in Serum or Plasma"),
    sct("1000731000000107", "Serum creatinine level"),
];
pub const SERUM_CHOLESTEROL: [Code; 2] = [
    loinc("14647-2", "Cholesterol [Moles/volume] in Serum or Plasma"),
    sct("1005671000000105", "Serum cholesterol level"),
];
pub const EGFR: [Code; 2] = [
    loinc(
        "62238-1",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)",
    ),
    sct("80274001", "Glomerular filtration rate"),
];
pub const SMOKING_STATUS: [Code; 2] = [
    sct("229819007", "Tobacco use and exposure"),
    loinc("72166-2", "Tobacco smoking status"),
];
pub const NEVER_SMOKED: Code = sct("266919005", "Never smoked tobacco");
pub const SMOKER: Code = sct("77176002", "Smoker");
pub const EX_SMOKER: Code = sct("8517006", "Ex-smoker");

// Allergies.
pub const PENICILLIN_ALLERGY: Code = sct("91936005", "Allergy to penicillin");
pub const NO_KNOWN_DRUG_ALLERGY: Code = sct("409137002", "No known drug allergy");
pub const URTICARIA: Code = sct("64305001", "Urticaria");
pub const NO_KNOWN_ALLERGY: Code = sct("716186003", "No known allergy");
pub const PEANUT_ALLERGY: Code = sct("91935009", "Allergy to peanuts");
pub const LATEX_ALLERGY: Code = sct("300916003", "Latex allergy");
pub const ANAPHYLAXIS: Code = sct("39579001", "Anaphylaxis");
pub const CONTACT_DERMATITIS: Code = sct("40275004", "Contact dermatitis");

// Vaccines: SNOMED CT vaccine products. A combined vaccine is coded by its product
// group and named in full in the text (see `Vaccine`).
pub const FLU_VACCINE: Code = sct(
    "836377006",
    "Influenza virus antigen-containing vaccine product",
);
pub const PNEUMOCOCCAL_VACCINE: Code = sct(
    "836398006",
    "Streptococcus pneumoniae antigen-containing vaccine product",
);
pub const MMR_VACCINE: Code = sct("871831003", "Measles and mumps and rubella vaccine");
pub const DIPHTHERIA_VACCINE: Code = sct(
    "836381006",
    "Corynebacterium diphtheriae antigen-containing vaccine product",
);
pub const ROTAVIRUS_VACCINE: Code =
    sct("836387005", "Rotavirus antigen-containing vaccine product");
pub const MENINGOCOCCAL_VACCINE: Code = sct(
    "836401009",
    "Neisseria meningitidis antigen-containing vaccine product",
);
pub const HIB_MENC_VACCINE: Code = sct(
    "836500008",
    "Haemophilus influenzae type b and Neisseria meningitidis serogroup C antigens-containing vaccine product",
);
pub const HPV_VACCINE: Code = sct(
    "836379009",
    "Human papillomavirus antigen-containing vaccine product",
);
pub const COVID_VACCINE: Code = sct(
    "1119349007",
    "Severe acute respiratory syndrome coronavirus 2 mRNA only vaccine product",
);

/// A vaccine as the UK schedule names it, with its SNOMED CT product code.
#[derive(Debug, Clone, Copy)]
pub struct Vaccine {
    pub code: Code,
    pub name: &'static str,
}

const fn vaccine(code: Code, name: &'static str) -> Vaccine {
    Vaccine { code, name }
}

pub const SIX_IN_ONE: Vaccine = vaccine(DIPHTHERIA_VACCINE, "6-in-1 (DTaP/IPV/Hib/HepB)");
pub const ROTAVIRUS: Vaccine = vaccine(ROTAVIRUS_VACCINE, "Rotavirus");
pub const MEN_B: Vaccine = vaccine(MENINGOCOCCAL_VACCINE, "MenB");
pub const PCV: Vaccine = vaccine(PNEUMOCOCCAL_VACCINE, "Pneumococcal conjugate (PCV)");
pub const HIB_MENC: Vaccine = vaccine(HIB_MENC_VACCINE, "Hib/MenC");
pub const MMR: Vaccine = vaccine(MMR_VACCINE, "MMR");
pub const PRE_SCHOOL_BOOSTER: Vaccine =
    vaccine(DIPHTHERIA_VACCINE, "4-in-1 pre-school booster (DTaP/IPV)");
pub const HPV: Vaccine = vaccine(HPV_VACCINE, "HPV");
pub const TD_IPV: Vaccine = vaccine(DIPHTHERIA_VACCINE, "3-in-1 teenage booster (Td/IPV)");
pub const MEN_ACWY: Vaccine = vaccine(MENINGOCOCCAL_VACCINE, "MenACWY");
pub const FLU: Vaccine = vaccine(FLU_VACCINE, "Influenza");
pub const PPV: Vaccine = vaccine(PNEUMOCOCCAL_VACCINE, "Pneumococcal polysaccharide (PPV23)");
pub const COVID_19: Vaccine = vaccine(COVID_VACCINE, "COVID-19 mRNA");

/// A medicine (dm+d VMP), how it is taken, and how many units a day.
#[derive(Debug, Clone, Copy)]
pub struct Medicine {
    pub code: Code,
    pub dose: &'static str,
    pub per_day: u32,
    /// What one unit is called, for the dispensed quantity.
    pub unit: &'static str,
}

const fn med(
    code: &'static str,
    display: &'static str,
    dose: &'static str,
    per_day: u32,
    unit: &'static str,
) -> Medicine {
    Medicine {
        code: sct(code, display),
        dose,
        per_day,
        unit,
    }
}

pub const AMLODIPINE: Medicine = med(
    "319283006",
    "Amlodipine 5mg tablets",
    "One tablet once a day",
    1,
    "tablet",
);
pub const RAMIPRIL: Medicine = med(
    "318906001",
    "Ramipril 10mg capsules",
    "One capsule once a day",
    1,
    "capsule",
);
pub const METFORMIN: Medicine = med(
    "325278007",
    "Metformin 500mg tablets",
    "One tablet twice a day with food",
    2,
    "tablet",
);
pub const ATORVASTATIN: Medicine = med(
    "320030001",
    "Atorvastatin 20mg tablets",
    "One tablet at night",
    1,
    "tablet",
);
pub const SALBUTAMOL: Medicine = med(
    "39113611000001102",
    "Salbutamol 100micrograms/dose inhaler CFC free",
    "Two puffs up to four times a day when required",
    0,
    "inhaler",
);
pub const BECLOMETASONE: Medicine = med(
    "320537007",
    "Beclometasone 100micrograms/dose inhaler",
    "Two puffs twice a day",
    0,
    "inhaler",
);
pub const CITALOPRAM: Medicine = med(
    "321989000",
    "Citalopram 10mg tablets",
    "One tablet once a day",
    1,
    "tablet",
);
pub const LEVOTHYROXINE: Medicine = med(
    "374296008",
    "Levothyroxine sodium 100microgram tablets",
    "One tablet each morning",
    1,
    "tablet",
);
pub const DIGOXIN: Medicine = med(
    "317896006",
    "Digoxin 125microgram tablets",
    "One tablet once a day",
    1,
    "tablet",
);
pub const PARACETAMOL: Medicine = med(
    "322280009",
    "Paracetamol 500mg capsules",
    "Two capsules up to four times a day when required",
    8,
    "capsule",
);
pub const AMOXICILLIN: Medicine = med(
    "323510009",
    "Amoxicillin 500mg capsules",
    "One capsule three times a day for 5 days",
    3,
    "capsule",
);
pub const AMLODIPINE_10: Medicine = med(
    "319284000",
    "Amlodipine 10mg tablets",
    "One tablet once a day",
    1,
    "tablet",
);
pub const GLICLAZIDE: Medicine = med(
    "325242002",
    "Gliclazide 80mg tablets",
    "One tablet twice a day with breakfast and the evening meal",
    2,
    "tablet",
);
pub const FLUOXETINE: Medicine = med(
    "321949006",
    "Fluoxetine 20mg capsules",
    "One capsule once a day",
    1,
    "capsule",
);
pub const DOXYCYCLINE: Medicine = med(
    "324059006",
    "Doxycycline 100mg capsules",
    "Two capsules on the first day, then one capsule a day",
    1,
    "capsule",
);
pub const CETIRIZINE: Medicine = med(
    "320818006",
    "Cetirizine 10mg tablets",
    "One tablet once a day when required",
    1,
    "tablet",
);
