//! People: the humans whose records the vault holds. A person is one or more Patient resources
//! (one per source) that are the same human; every resource of a patient's compartment carries
//! its person in the entry index, shared resources (Organization, Practitioner, ...) carry none.
//!
//! "Who is this?": a Patient not yet linked becomes the first person when the vault has none; is
//! linked when it matches exactly one person (see [`crate::fhir::Demographics::matches`]); and is
//! otherwise never linked silently: the caller must choose ([`PersonChoice`]).

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::AuditKind;
use crate::error::{Error, Result};
use crate::fhir::{self, Demographics, Match};
use crate::vault::{Vault, entries};

/// Whose record an import (or a sync) is, when a Patient in it is not yet linked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum PersonChoice {
    /// Link by the automatic match, or refuse ([`Error::WhoIsThis`]).
    #[default]
    Auto,
    /// Someone not yet in the vault.
    New,
    /// This person.
    Existing(#[cfg_attr(feature = "ts", ts(type = "number"))] i64),
}

impl std::str::FromStr for PersonChoice {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        match text {
            "new" => Ok(PersonChoice::New),
            id => id
                .parse()
                .map(PersonChoice::Existing)
                .map_err(|_| Error::NoSuchPerson(id.to_owned())),
        }
    }
}

/// A person, for lists and headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Person {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub name: String,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub sources: Vec<PersonSource>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub resources: i64,
}

/// One source of a person's record, and the Patient in it that is them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PersonSource {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub id: i64,
    pub kind: String,
    /// The portal's name (for portals) or the file's name.
    pub name: String,
    pub patient_id: String,
}

/// How a Patient came to be linked to its person (recorded in the audit log; ids only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkedBy {
    /// The vault had no people yet.
    First,
    /// The automatic match.
    Matched,
    /// The patient said who it is.
    Chosen,
    /// The patient said it is someone new.
    New,
    /// The same Patient id was already linked in another source.
    SamePatient,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub person: i64,
    pub source: i64,
    pub patient: String,
    pub by: LinkedBy,
}

/// The person already linked to (source, patient id), if any.
pub(crate) fn linked_person(
    tx: &Transaction<'_>,
    source_id: i64,
    patient_id: &str,
) -> Result<Option<i64>> {
    Ok(tx
        .prepare_cached(
            "SELECT person_id FROM person_patients WHERE source_id = ?1 AND patient_id = ?2",
        )?
        .query_row(params![source_id, patient_id], |r| r.get(0))
        .optional()?)
}

fn new_person(tx: &Transaction<'_>, now: &str) -> Result<i64> {
    tx.prepare_cached("INSERT INTO people (created_at) VALUES (?1)")?
        .execute([now])?;
    Ok(tx.last_insert_rowid())
}

/// Records that the Patient `patient_id` of `source_id` is `person`.
fn link_patient(
    tx: &Transaction<'_>,
    source_id: i64,
    patient_id: &str,
    person: i64,
    now: &str,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO person_patients (source_id, patient_id, person_id, linked_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (source_id, patient_id) DO UPDATE SET person_id = ?3, linked_at = ?4",
    )?
    .execute(params![source_id, patient_id, person, now])?;
    Ok(())
}

/// Links the Patient of a person's own source (`vault/own.rs`) to them: it is them by making.
pub(crate) fn link_own_patient(
    tx: &Transaction<'_>,
    source_id: i64,
    patient_id: &str,
    person: i64,
    now: &str,
) -> Result<()> {
    link_patient(tx, source_id, patient_id, person, now)
}

/// Ties the entries of a Patient of a source to `person`: only those not yet tied to anyone
/// (found through their partial index) unless `moving` (a split moves them all).
fn tie_entries(
    tx: &Transaction<'_>,
    source_id: i64,
    patient_id: &str,
    person: i64,
    moving: bool,
) -> Result<()> {
    let sql = if moving {
        "UPDATE entries SET person_id = ?3
         WHERE resource_id IN (SELECT id FROM resources WHERE source_id = ?1) AND subject = ?2"
    } else {
        "UPDATE entries SET person_id = ?3
         WHERE person_id IS NULL AND subject = ?2
           AND resource_id IN (SELECT id FROM resources WHERE source_id = ?1)"
    };
    tx.prepare_cached(sql)?
        .execute(params![source_id, patient_id, person])?;
    Ok(())
}

fn person_exists(tx: &Transaction<'_>, person: i64) -> Result<bool> {
    Ok(tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM people WHERE id = ?1)")?
        .query_row([person], |r| r.get(0))?)
}

/// The demographics of every Patient linked to each person.
fn people_demographics(tx: &Transaction<'_>) -> Result<BTreeMap<i64, Vec<Demographics>>> {
    let mut stmt = tx.prepare_cached(
        "SELECT pp.person_id, r.json FROM person_patients pp
         JOIN resources r ON r.source_id = pp.source_id AND r.resource_type = 'Patient' AND r.fhir_id = pp.patient_id",
    )?;
    let mut rows = stmt.query([])?;
    let mut out: BTreeMap<i64, Vec<Demographics>> = BTreeMap::new();
    while let Some(row) = rows.next()? {
        let json: String = row.get(1)?;
        if let Ok(value) = serde_json::from_str::<Value>(&json) {
            out.entry(row.get(0)?)
                .or_default()
                .push(Demographics::of(&value));
        }
    }
    Ok(out)
}

/// The one person whose Patients all match `patient`, if exactly one does.
pub(crate) fn automatic_match(
    people: &BTreeMap<i64, Vec<Demographics>>,
    patient: &Demographics,
) -> Option<i64> {
    let matching: Vec<i64> = people
        .iter()
        .filter(|(_, patients)| {
            !patients.is_empty() && patients.iter().all(|p| p.matches(patient) == Match::Same)
        })
        .map(|(id, _)| *id)
        .collect();
    match matching.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// Refuses a file whose Patient replaces, under the same source and patient id, a Patient
/// that is someone else (another name or birth date): the two people's records would mix.
/// `now` is the import's time (the replaced versions went to history at it); `why` says, for
/// the file, what made the two the same source.
pub(crate) fn refuse_replaced_patients(
    tx: &Transaction<'_>,
    source_id: i64,
    file: &str,
    now: &str,
    why: &str,
) -> Result<()> {
    let mut stmt = tx.prepare_cached(
        "SELECT h.json, r.json FROM resource_history h JOIN resources r ON r.id = h.resource_id
         WHERE r.source_id = ?1 AND r.resource_type = 'Patient' AND h.replaced_at = ?2",
    )?;
    let mut rows = stmt.query(params![source_id, now])?;
    while let Some(row) = rows.next()? {
        let (before, after): (String, String) = (row.get(0)?, row.get(1)?);
        let read = |json: &str| serde_json::from_str::<Value>(json).map(|v| Demographics::of(&v));
        if let (Ok(before), Ok(after)) = (read(&before), read(&after))
            && before.matches(&after) == Match::Different
        {
            return Err(Error::import(file, why));
        }
    }
    Ok(())
}

/// Decides whose record each Patient of one import (or of a portal's first sync) is, as
/// `choice` says (see the module docs). The writer asks as each Patient is stored, so the
/// resources after it are stored with their person; [`Settler::finish`] links the Patients
/// whose resources came before them. Refusing (an error) rolls the caller's transaction back.
pub(crate) struct Settler {
    source_id: i64,
    file: String,
    choice: PersonChoice,
    now: String,
    /// Whether the vault had no people when the import began.
    vault_was_empty: bool,
    /// `--person ID` names one person: a second Patient in the same file is refused.
    chosen_used: bool,
    /// Every person's demographics, read when the automatic match first needs them.
    known: Option<BTreeMap<i64, Vec<Demographics>>>,
    links: Vec<Link>,
}

impl Settler {
    pub(crate) fn new(
        tx: &Transaction<'_>,
        source_id: i64,
        file: &str,
        choice: PersonChoice,
        now: &str,
    ) -> Result<Settler> {
        if let PersonChoice::Existing(id) = choice
            && !person_exists(tx, id)?
        {
            return Err(Error::NoSuchPerson(id.to_string()));
        }
        Ok(Settler {
            source_id,
            file: file.to_owned(),
            choice,
            now: now.to_owned(),
            vault_was_empty: tx
                .query_row("SELECT NOT EXISTS (SELECT 1 FROM people)", [], |r| r.get(0))?,
            chosen_used: false,
            known: None,
            links: Vec::new(),
        })
    }

    /// The person of the Patient `subject` of this source, linking it now if it is not yet.
    pub(crate) fn person(&mut self, tx: &Transaction<'_>, subject: &str) -> Result<i64> {
        if let Some(person) = linked_person(tx, self.source_id, subject)? {
            return Ok(person);
        }
        let patient: Option<String> = tx
            .prepare_cached(
                "SELECT json FROM resources WHERE source_id = ?1 AND resource_type = 'Patient' AND fhir_id = ?2",
            )?
            .query_row(params![self.source_id, subject], |r| r.get(0))
            .optional()?;
        let (person, by) = match patient {
            Some(json) => self.decide(tx, &json)?,
            None => self.same_patient_elsewhere(tx, subject)?,
        };
        link_patient(tx, self.source_id, subject, person, &self.now)?;
        self.links.push(Link {
            person,
            source: self.source_id,
            patient: subject.to_owned(),
            by,
        });
        Ok(person)
    }

    /// Whose a Patient stored in this source is: the choice, or the automatic match.
    fn decide(&mut self, tx: &Transaction<'_>, json: &str) -> Result<(i64, LinkedBy)> {
        let value: Value = serde_json::from_str(json)
            .map_err(|_| Error::Corrupt("a stored resource is not valid JSON".into()))?;
        let demographics = Demographics::of(&value);
        let decided = match self.choice {
            PersonChoice::Existing(_) if self.chosen_used => {
                return Err(Error::import(
                    &self.file,
                    "holds several patients, and --person names one person; import it without --person, or split it",
                ));
            }
            PersonChoice::Existing(id) => {
                self.chosen_used = true;
                (id, LinkedBy::Chosen)
            }
            PersonChoice::New => (new_person(tx, &self.now)?, LinkedBy::New),
            PersonChoice::Auto if self.vault_was_empty => {
                (new_person(tx, &self.now)?, LinkedBy::First)
            }
            PersonChoice::Auto => {
                if self.known.is_none() {
                    self.known = Some(people_demographics(tx)?);
                }
                let matched = match &self.known {
                    Some(known) => automatic_match(known, &demographics),
                    None => None,
                };
                match matched {
                    Some(id) => (id, LinkedBy::Matched),
                    None => {
                        return Err(Error::WhoIsThis {
                            file: self.file.clone(),
                        });
                    }
                }
            }
        };
        if let Some(known) = &mut self.known {
            known.entry(decided.0).or_default().push(demographics);
        }
        Ok(decided)
    }

    /// A Patient not in this source: the same Patient id elsewhere in the vault, if it is one
    /// person's (e.g. NDJSON files of one export, Patient.ndjson imported first).
    fn same_patient_elsewhere(
        &self,
        tx: &Transaction<'_>,
        subject: &str,
    ) -> Result<(i64, LinkedBy)> {
        let persons: BTreeSet<i64> = tx
            .prepare_cached("SELECT person_id FROM person_patients WHERE patient_id = ?1")?
            .query_map([subject], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        match persons.iter().collect::<Vec<_>>().as_slice() {
            [one] => Ok((**one, LinkedBy::SamePatient)),
            [] => Err(Error::import(
                &self.file,
                "has resources of a patient who is neither in the file nor in the vault, so whose they are cannot be told (import the file with that Patient first)",
            )),
            _ => Err(Error::import(
                &self.file,
                "has resources of a patient id that several people in the vault share, so whose they are cannot be told",
            )),
        }
    }

    /// Links the Patients whose entries are still tied to no one and ties those entries; returns
    /// every link this import made.
    pub(crate) fn finish(mut self, tx: &Transaction<'_>) -> Result<Vec<Link>> {
        let subjects: Vec<String> = tx
            .prepare_cached(
                "SELECT DISTINCT e.subject FROM entries e JOIN resources r ON r.id = e.resource_id
                 WHERE e.person_id IS NULL AND e.subject IS NOT NULL AND r.source_id = ?1
                 ORDER BY e.subject",
            )?
            .query_map([self.source_id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for subject in subjects {
            let person = self.person(tx, &subject)?;
            tie_entries(tx, self.source_id, &subject, person, false)?;
        }
        Ok(self.links)
    }
}

impl Vault {
    /// Every person in the vault, in the order they were added.
    pub fn people(&self) -> Result<Vec<Person>> {
        self.people_of(None)
    }

    /// Every person, or only the one with id `only`.
    fn people_of(&self, only: Option<i64>) -> Result<Vec<Person>> {
        let conn = self.db();
        let mut people: Vec<Person> = conn
            .prepare(
                "SELECT p.id, p.name, (SELECT count(*) FROM entries e WHERE e.person_id = p.id)
                 FROM people p WHERE ?1 IS NULL OR p.id = ?1 ORDER BY p.id",
            )?
            .query_map([only], |r| {
                Ok(Person {
                    id: r.get(0)?,
                    name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    birth_date: None,
                    gender: None,
                    sources: Vec::new(),
                    resources: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = conn.prepare(
            "SELECT pp.person_id, s.id, s.kind, coalesce(c.name, s.name), pp.patient_id, r.json
             FROM person_patients pp JOIN sources s ON s.id = pp.source_id
             LEFT JOIN connections c ON s.kind = 'portal' AND c.fhir_base = s.name AND c.patient_id = s.patient_id
             LEFT JOIN resources r ON r.source_id = pp.source_id AND r.resource_type = 'Patient' AND r.fhir_id = pp.patient_id
             WHERE ?1 IS NULL OR pp.person_id = ?1
             ORDER BY pp.person_id, coalesce(r.last_updated, '') DESC, s.id",
        )?;
        let mut rows = stmt.query([only])?;
        while let Some(row) = rows.next()? {
            let person_id: i64 = row.get(0)?;
            let Some(person) = people.iter_mut().find(|p| p.id == person_id) else {
                continue;
            };
            let json: Option<String> = row.get(5)?;
            if let Some(patient) = json.and_then(|j| serde_json::from_str::<Value>(&j).ok()) {
                // The most recently updated Patient names the person (unless renamed).
                if person.name.is_empty() {
                    person.name = fhir::clinical::patient_name(&patient);
                }
                let d = Demographics::of(&patient);
                person.birth_date = person.birth_date.take().or(d.birth_date);
                person.gender = person.gender.take().or(d.gender);
            }
            person.sources.push(PersonSource {
                id: row.get(1)?,
                kind: row.get(2)?,
                name: row.get(3)?,
                patient_id: row.get(4)?,
            });
        }
        for person in &mut people {
            if person.name.is_empty() {
                person.name = format!("Person {}", person.id);
            }
        }
        Ok(people)
    }

    pub fn person(&self, id: i64) -> Result<Person> {
        self.people_of(Some(id))?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::NoSuchPerson(id.to_string()))
    }

    /// The person whose record a read is about: the one chosen, or the only one.
    pub fn reading_person(&self, chosen: Option<i64>) -> Result<i64> {
        let ids: Vec<i64> = self
            .db()
            .prepare("SELECT id FROM people ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        match (chosen, ids.as_slice()) {
            (Some(id), _) if ids.contains(&id) => Ok(id),
            (Some(id), _) => Err(Error::NoSuchPerson(id.to_string())),
            (None, []) => Err(Error::NoPatient),
            (None, [one]) => Ok(*one),
            (None, _) => Err(Error::ChoosePerson(ids)),
        }
    }

    /// Names a person (instead of the name in their records).
    pub fn rename_person(&mut self, id: i64, name: &str) -> Result<()> {
        let name = name.trim();
        if name.is_empty() {
            return Err(Error::PeopleChange("A name cannot be empty."));
        }
        self.person(id)?;
        self.write(AuditKind::People, |tx| {
            tx.execute(
                "UPDATE people SET name = ?2 WHERE id = ?1",
                params![id, name],
            )?;
            Ok(((), serde_json::json!({ "renamed": id })))
        })
    }

    /// Records that `other` is the same human as `keep`: `other`'s Patients and resources move to
    /// `keep`, and `other` is no more.
    pub fn link_people(&mut self, keep: i64, other: i64) -> Result<()> {
        if keep == other {
            return Err(Error::PeopleChange("Those are the same person."));
        }
        self.person(keep)?;
        self.person(other)?;
        self.write(AuditKind::People, |tx| {
            tx.execute(
                "UPDATE person_patients SET person_id = ?1 WHERE person_id = ?2",
                params![keep, other],
            )?;
            tx.execute(
                "UPDATE entries SET person_id = ?1 WHERE person_id = ?2",
                params![keep, other],
            )?;
            tx.execute("DELETE FROM people WHERE id = ?1", [other])?;
            entries::regroup(tx, keep)?;
            Ok(((), serde_json::json!({ "linked": other, "into": keep })))
        })
    }

    /// Splits the Patient of `source_id` off `person` into a new person (it was not them).
    /// Returns the new person's id.
    pub fn unlink_source(&mut self, person: i64, source_id: i64) -> Result<i64> {
        let found = self.person(person)?;
        if !found.sources.iter().any(|s| s.id == source_id) {
            return Err(Error::PeopleChange(
                "That source is not part of this person's record (see `ownrecord people`).",
            ));
        }
        if found.sources.iter().filter(|s| s.id != source_id).count() == 0 {
            return Err(Error::PeopleChange(
                "That is this person's only source: there is nothing to split off.",
            ));
        }
        let now = self.now();
        self.write(AuditKind::People, |tx| {
            let new = new_person(tx, &now)?;
            let patients: Vec<String> = tx
                .prepare("SELECT patient_id FROM person_patients WHERE person_id = ?1 AND source_id = ?2")?
                .query_map(params![person, source_id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for patient in &patients {
                link_patient(tx, source_id, patient, new, &now)?;
                tie_entries(tx, source_id, patient, new, true)?;
            }
            entries::regroup(tx, person)?;
            entries::regroup(tx, new)?;
            Ok((
                new,
                serde_json::json!({ "split": person, "source": source_id, "new_person": new }),
            ))
        })
    }

    /// Deletes a person and every resource of theirs (the audit and disclosure log keep their rows).
    /// Returns how many resources were deleted.
    pub fn remove_person(&mut self, id: i64) -> Result<u64> {
        self.person(id)?;
        self.write(AuditKind::People, |tx| {
            let sources: Vec<i64> = tx
                .prepare("SELECT DISTINCT source_id FROM person_patients WHERE person_id = ?1")?
                .query_map([id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            let of_person = "SELECT resource_id FROM entries WHERE person_id = ?1";
            tx.execute(&format!("DELETE FROM resource_text WHERE rowid IN ({of_person})"), [id])?;
            let deleted = tx.execute(&format!("DELETE FROM resources WHERE id IN ({of_person})"), [id])? as u64;
            tx.execute("DELETE FROM person_patients WHERE person_id = ?1", [id])?;
            tx.execute("DELETE FROM people WHERE id = ?1", [id])?;
            // A source that was only theirs goes too, with what it shared (organizations,
            // practitioners) and its attachments; a portal connection is kept (disconnect removes it).
            for source in sources {
                let others: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM person_patients WHERE source_id = ?1)",
                    [source],
                    |r| r.get(0),
                )?;
                if others {
                    continue;
                }
                let of_source = "SELECT id FROM resources WHERE source_id = ?1";
                tx.execute(&format!("DELETE FROM resource_text WHERE rowid IN ({of_source})"), [source])?;
                tx.execute("DELETE FROM resources WHERE source_id = ?1", [source])?;
                tx.execute("DELETE FROM attachments WHERE source_id = ?1", [source])?;
                tx.execute(
                    "DELETE FROM sources WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM connections c
                        JOIN sources s ON c.fhir_base = s.name AND c.patient_id = s.patient_id WHERE s.id = ?1)",
                    [source],
                )?;
            }
            Ok((
                deleted,
                serde_json::json!({ "removed": id, "resources": deleted }),
            ))
        })
    }
}
