//! Typo-tolerant, ranked search over the directory's names, aliases, cities and states.
//!
//! Text is folded to lower-case words of letters and digits. Every word of the query must match a
//! word of the entry: exactly, as its beginning (typing in progress), or within one edit (two for
//! words of eight letters or more; none below four). Matches in the name count more than in an
//! alias, which count more than the city or state; exact more than a beginning, more than a typo.
//! The vocabulary (each distinct word, with the entries and fields it occurs in) is built once, so
//! a query compares its words with the distinct words only.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Name = 3,
    Alias = 2,
    Place = 1,
}

#[derive(Debug, Default, Clone)]
pub(super) struct Index {
    /// Each distinct word, and where it occurs: (entry, field).
    words: Vec<(String, Vec<(u32, Field)>)>,
    /// Each entry's number of name words: among equal matches, the shorter name comes first.
    name_words: Vec<usize>,
}

impl Index {
    pub(super) fn build<'a>(entries: impl Iterator<Item = Vec<(&'a str, Field)>>) -> Index {
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut words: Vec<(String, Vec<(u32, Field)>)> = Vec::new();
        let mut name_words = Vec::new();
        for (i, texts) in entries.enumerate() {
            let Ok(i) = u32::try_from(i) else { break };
            name_words.push(
                texts
                    .iter()
                    .filter(|(_, f)| *f == Field::Name)
                    .map(|(t, _)| fold(t).len())
                    .sum(),
            );
            for (text, field) in texts {
                for word in fold(text) {
                    let slot = *at.entry(word.clone()).or_insert_with(|| {
                        words.push((word, Vec::new()));
                        words.len() - 1
                    });
                    if let Some((_, places)) = words.get_mut(slot)
                        && !places.contains(&(i, field))
                    {
                        places.push((i, field));
                    }
                }
            }
        }
        Index { words, name_words }
    }

    /// Entries matching every word of `query`, best first (ties: the shorter name, then the order
    /// they were added), at
    /// most `limit`. An empty query matches nothing here (the caller lists instead).
    pub(super) fn search(&self, query: &str, limit: usize) -> Vec<usize> {
        let terms = fold(query);
        if terms.is_empty() {
            return Vec::new();
        }
        let mut total: HashMap<u32, u32> = HashMap::new();
        for (n, term) in terms.iter().enumerate() {
            // This term's best score per entry.
            let mut best: HashMap<u32, u32> = HashMap::new();
            for (word, places) in &self.words {
                let Some(quality) = closeness(term, word) else {
                    continue;
                };
                for &(entry, field) in places {
                    if n > 0 && !total.contains_key(&entry) {
                        continue;
                    }
                    let score = quality * field as u32;
                    let slot = best.entry(entry).or_insert(0);
                    *slot = (*slot).max(score);
                }
            }
            if n == 0 {
                total = best;
            } else {
                total = best
                    .into_iter()
                    .filter_map(|(e, s)| total.get(&e).map(|t| (e, t.saturating_add(s))))
                    .collect();
            }
            if total.is_empty() {
                return Vec::new();
            }
        }
        let mut ranked: Vec<(u32, u32)> = total.into_iter().collect();
        let length = |e: u32| {
            self.name_words
                .get(e as usize)
                .copied()
                .unwrap_or(usize::MAX)
        };
        ranked.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(length(a.0).cmp(&length(b.0)))
                .then(a.0.cmp(&b.0))
        });
        ranked
            .into_iter()
            .take(limit)
            .map(|(e, _)| e as usize)
            .collect()
    }
}

/// How well a query term matches a word: 4 exact, 3 the word's beginning, 2 one typo away (or a
/// typo in the beginning), 1 two typos away; `None` when it does not match.
fn closeness(term: &str, word: &str) -> Option<u32> {
    if term == word {
        return Some(4);
    }
    if word.starts_with(term) {
        return Some(3);
    }
    let len = term.chars().count();
    let allowed = match len {
        0..=3 => return None,
        4..=7 => 1,
        _ => 2,
    };
    let word_len = word.chars().count();
    if word_len + allowed < len {
        return None;
    }
    let whole = (word_len <= len + allowed).then(|| strsim::levenshtein(term, word));
    // The word's beginning, as long as the term: a typo while still typing.
    let beginning: String = word.chars().take(len).collect();
    let start = strsim::levenshtein(term, &beginning);
    let distance = whole.map_or(start, |w| w.min(start));
    match distance {
        0 => Some(3),
        d if d <= 1 && d <= allowed => Some(2),
        d if d <= allowed => Some(1),
        _ => None,
    }
}

/// Lower-case words of letters and digits ("St. Mary's" → ["st", "mary", "s"]).
pub(super) fn fold(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(names: &[(&'static str, &'static str)]) -> Index {
        Index::build(
            names
                .iter()
                .map(|(name, city)| vec![(*name, Field::Name), (*city, Field::Place)]),
        )
    }

    #[test]
    fn exact_beats_beginning_beats_typo_and_every_word_must_match() {
        let idx = index(&[
            ("Mercy Hospital", "Springfield"),
            ("Mercyhurst Clinic", "Erie"),
            ("Mercer County Health", "Trenton"),
            ("Boston Children's", "Boston"),
        ]);
        // Exact words first, then "Mercer" one letter off.
        assert_eq!(idx.search("mercy", 10), vec![0, 1, 2]);
        // A typo finds it too, below the exact ones.
        assert_eq!(idx.search("mercey", 10)[0], 0);
        assert!(idx.search("merc", 10).len() == 3);
        assert_eq!(idx.search("mercy springfield", 10), vec![0]);
        assert_eq!(idx.search("childrens boston", 10), vec![3]);
        assert!(idx.search("mercy boston", 10).is_empty());
        assert!(idx.search("", 10).is_empty());
        // Short words need to be right.
        assert!(idx.search("bpston", 10).contains(&3));
        assert!(idx.search("eri", 10) == vec![1]);
        assert!(idx.search("ert", 10).is_empty());
    }

    #[test]
    fn a_name_match_ranks_above_a_place_match() {
        let idx = index(&[("Clinic of Austin", "Dallas"), ("Dallas Clinic", "Austin")]);
        assert_eq!(idx.search("dallas", 10), vec![1, 0]);
        assert_eq!(idx.search("austin", 10), vec![0, 1]);
    }
}
