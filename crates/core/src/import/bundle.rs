//! Streaming a Bundle's entries one at a time with serde, without holding the whole Bundle.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::Error;

/// What the top level of a JSON document said, besides its entries.
#[derive(Debug, Default)]
pub struct TopLevel {
    pub resource_type: Option<String>,
    pub bundle_type: Option<String>,
    pub entries: usize,
}

/// Deserializes a JSON object; for each element of its `entry` array, deserializes a `T` and
/// hands it to `on_entry` (with its 1-based position). An error from `on_entry` stops the parse and
/// is returned as is.
pub fn for_each_entry<'de, D, T>(
    deserializer: D,
    on_entry: &mut dyn FnMut(usize, T) -> Result<(), Error>,
) -> Result<TopLevel, ParseError>
where
    D: Deserializer<'de, Error = serde_json::Error>,
    T: Deserialize<'de>,
{
    let mut failure = None;
    let seed = TopSeed {
        on_entry,
        failure: &mut failure,
        _entry: PhantomData,
    };
    match seed.deserialize(deserializer) {
        Ok(top) => Ok(top),
        Err(json) => Err(match failure {
            Some(e) => ParseError::Entry(e),
            None => ParseError::Json(json),
        }),
    }
}

#[derive(Debug)]
pub enum ParseError {
    /// The JSON itself is malformed.
    Json(serde_json::Error),
    /// `on_entry` refused an entry.
    Entry(Error),
}

const STOPPED: &str = "stopped by entry handler";

struct TopSeed<'a, T> {
    on_entry: &'a mut dyn FnMut(usize, T) -> Result<(), Error>,
    failure: &'a mut Option<Error>,
    _entry: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for TopSeed<'_, T> {
    type Value = TopLevel;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<TopLevel, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for TopSeed<'_, T> {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a FHIR resource (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
        let mut top = TopLevel::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "resourceType" => top.resource_type = Some(map.next_value()?),
                "type" => {
                    top.bundle_type = map
                        .next_value::<serde_json::Value>()?
                        .as_str()
                        .map(str::to_owned)
                }
                "entry" => {
                    top.entries = map.next_value_seed(EntriesSeed {
                        on_entry: &mut *self.on_entry,
                        failure: &mut *self.failure,
                        _entry: PhantomData,
                    })?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

struct EntriesSeed<'a, T> {
    on_entry: &'a mut dyn FnMut(usize, T) -> Result<(), Error>,
    failure: &'a mut Option<Error>,
    _entry: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for EntriesSeed<'_, T> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for EntriesSeed<'_, T> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of Bundle entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while let Some(entry) = seq.next_element::<T>()? {
            n += 1;
            if let Err(e) = (self.on_entry)(n, entry) {
                *self.failure = Some(e);
                return Err(serde::de::Error::custom(STOPPED));
            }
        }
        Ok(n)
    }
}
