// Built-in departments with their ICD-10-CM diagnoses and visit patterns, and the drugs patients are prescribed.

/** An ICD-10-CM code and its (digit-free, lower-case) description. */
export type Diagnosis = readonly [code: string, description: string];

/** A department encounters are booked under. */
export interface Department {
  readonly name: string;
  /** Chance that an encounter is an admission (days) rather than a visit (minutes to hours). */
  readonly inpatientChance: number;
  /** Who is seen there: `adult`, `child` or `any`; Obstetrics also requires sex F and child-bearing age. */
  readonly ages: "adult" | "child" | "any";
  readonly diagnoses: readonly Diagnosis[];
}

function dx(text: string): readonly Diagnosis[] {
  return text
    .trim()
    .split("\n")
    .map((line) => {
      const [code = "", description = ""] = line.trim().split("|");
      return [code, description] as const;
    });
}

/** The departments, with the weight of each among encounters. */
export const DEPARTMENTS: readonly (readonly [Department, number])[] = [
  [
    {
      name: "Emergency",
      inpatientChance: 0.12,
      ages: "any",
      diagnoses: dx(`
      R07.9|chest pain
      R10.9|abdominal pain
      S93.401A|an ankle sprain
      S52.501A|a fracture of the forearm
      S06.0X0A|a concussion
      L03.90|cellulitis
      T78.40XA|an allergic reaction
      J18.9|pneumonia
      R51.9|headache`),
    },
    24,
  ],
  [
    {
      name: "Primary Care",
      inpatientChance: 0,
      ages: "any",
      diagnoses: dx(`
      Z00.00|an annual physical examination
      I10|essential hypertension
      E11.9|type two diabetes mellitus
      E78.5|hyperlipidemia
      J06.9|an upper respiratory infection
      Z23|an immunization visit
      K21.9|gastroesophageal reflux disease
      M54.50|low back pain`),
    },
    26,
  ],
  [
    {
      name: "Internal Medicine",
      inpatientChance: 0.25,
      ages: "adult",
      diagnoses: dx(`
      E11.65|type two diabetes with hyperglycemia
      N39.0|a urinary tract infection
      N18.30|chronic kidney disease
      A09|gastroenteritis
      U07.1|a viral respiratory illness
      D64.9|anemia`),
    },
    12,
  ],
  [
    {
      name: "Cardiology",
      inpatientChance: 0.2,
      ages: "adult",
      diagnoses: dx(`
      I48.91|atrial fibrillation
      I50.9|heart failure
      I21.4|a non-ST elevation myocardial infarction
      I25.10|coronary artery disease
      I10|essential hypertension`),
    },
    8,
  ],
  [
    {
      name: "Pediatrics",
      inpatientChance: 0.05,
      ages: "child",
      diagnoses: dx(`
      Z00.129|a well-child visit
      H66.90|otitis media
      J45.909|asthma
      J06.9|an upper respiratory infection
      R50.9|fever
      L20.9|atopic dermatitis`),
    },
    10,
  ],
  [
    {
      name: "Obstetrics",
      inpatientChance: 0.3,
      ages: "adult",
      diagnoses: dx(`
      Z34.90|a routine prenatal visit
      O80|an uncomplicated delivery
      O24.419|gestational diabetes
      O13.9|gestational hypertension`),
    },
    4,
  ],
  [
    {
      name: "Orthopedics",
      inpatientChance: 0.1,
      ages: "any",
      diagnoses: dx(`
      M17.11|osteoarthritis of the right knee
      M75.101|a rotator cuff tear
      S72.001A|a fracture of the femoral neck
      M54.16|lumbar radiculopathy`),
    },
    6,
  ],
  [
    {
      name: "Oncology",
      inpatientChance: 0.15,
      ages: "adult",
      diagnoses: dx(`
      C50.911|breast cancer
      C34.90|lung cancer
      C18.9|colon cancer
      Z51.11|an encounter for chemotherapy
      C61|prostate cancer`),
    },
    4,
  ],
  [
    {
      name: "Psychiatry",
      inpatientChance: 0.08,
      ages: "any",
      diagnoses: dx(`
      F32.9|major depressive disorder
      F41.1|generalized anxiety disorder
      F10.20|alcohol dependence
      F43.10|post-traumatic stress disorder`),
    },
    5,
  ],
  [
    {
      name: "Neurology",
      inpatientChance: 0.1,
      ages: "any",
      diagnoses: dx(`
      G43.909|migraine
      G40.909|epilepsy
      I63.9|a cerebral infarction
      G20.A1|Parkinson disease`),
    },
    4,
  ],
  [
    {
      name: "Pulmonology",
      inpatientChance: 0.12,
      ages: "adult",
      diagnoses: dx(`
      J44.9|chronic obstructive pulmonary disease
      J45.909|asthma
      G47.33|obstructive sleep apnea`),
    },
    3,
  ],
  [
    {
      name: "General Surgery",
      inpatientChance: 0.6,
      ages: "adult",
      diagnoses: dx(`
      K35.80|acute appendicitis
      K80.20|gallstones
      K40.90|an inguinal hernia`),
    },
    3,
  ],
];

/** A drug and the doses it is prescribed at (free text, as a pharmacist would write them). */
export type Drug = readonly [name: string, doses: readonly string[]];

/** The drugs of the medications table. */
export const DRUGS: readonly Drug[] = `
  metformin|500 mg twice daily;850 mg twice daily;1000 mg twice daily
  lisinopril|5 mg daily;10 mg daily;20 mg daily;40 mg daily
  atorvastatin|10 mg nightly;20 mg nightly;40 mg nightly;80 mg nightly
  amlodipine|2.5 mg daily;5 mg daily;10 mg daily
  levothyroxine|25 mcg daily;50 mcg daily;75 mcg daily;100 mcg daily
  omeprazole|20 mg daily;40 mg daily
  albuterol|90 mcg 2 puffs every 4 hours as needed
  sertraline|25 mg daily;50 mg daily;100 mg daily
  amoxicillin|500 mg three times daily for 10 days;875 mg twice daily for 7 days
  ibuprofen|400 mg every 6 hours as needed;600 mg every 6 hours as needed
  acetaminophen|500 mg every 6 hours as needed;1000 mg every 8 hours as needed
  apixaban|2.5 mg twice daily;5 mg twice daily
  metoprolol succinate|25 mg daily;50 mg daily;100 mg daily
  furosemide|20 mg daily;40 mg twice daily
  insulin glargine|10 units nightly;20 units nightly;30 units nightly
  prednisone|10 mg daily for 5 days;40 mg daily for 5 days
  gabapentin|100 mg three times daily;300 mg three times daily
  losartan|25 mg daily;50 mg daily;100 mg daily
  fluticasone|50 mcg 2 sprays each nostril daily
  escitalopram|10 mg daily;20 mg daily
  tamoxifen|20 mg daily
  levetiracetam|500 mg twice daily;1000 mg twice daily
  prenatal multivitamin|1 tablet daily
  cephalexin|500 mg four times daily for 7 days`
  .trim()
  .split("\n")
  .map((line) => {
    const [name = "", doses = ""] = line.trim().split("|");
    return [name, doses.split(";")] as const;
  });
