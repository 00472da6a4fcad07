//! Families as the lines arrive: which family a sample belongs to (its name is the family's
//! plus one of its type's suffixes), metadata only before a family's samples, and each name
//! taken once: a family appears in one block, and no two families share a sample name.

use std::collections::HashMap;

use super::grouping::{self, Grouping};
use super::histogram::{Points, Reading};
use super::metadata::{self, Keyword, Metadata};
use super::sample::Lexed;
use super::{exemplar, values};
use crate::budget::{DecodeBudget, Spending, sample_tally};
use crate::error::ParseError;
use crate::escape::{Dialect, help_text};
use crate::model::{Exposition, Family, Sample};
use crate::suffix::{Part, part_of};
use redmetrics_core::MetricType;

/// The family being read.
struct Open {
    index: usize,
    grouping: Grouping,
    /// For histograms and gauge histograms.
    points: Option<Points>,
}

/// The families read so far, each sample charged to the decoding budget.
pub(super) struct Families {
    spending: Spending,
    exposition: Exposition,
    /// Every name a family has taken (its own and its samples'), with the family and line.
    claims: HashMap<String, (usize, usize)>,
    open: Option<Open>,
}

impl Default for Families {
    fn default() -> Self {
        Self {
            spending: Spending::new(DecodeBudget::DEFAULT),
            exposition: Exposition::default(),
            claims: HashMap::new(),
            open: None,
        }
    }
}

impl Families {
    fn open_family(&self) -> Option<&Family> {
        self.open
            .as_ref()
            .map(|o| &self.exposition.families[o.index])
    }

    /// Takes `name` for family `index` on `line`.
    fn claim(&mut self, line: usize, index: usize, name: String) -> Result<(), ParseError> {
        if let Some(&(other, at)) = self.claims.get(&name) {
            let owner = &self.exposition.families[other].name;
            let how = if *owner == name {
                format!("family {owner:?} of line {at}")
            } else {
                format!("the samples of family {owner:?} (line {at})")
            };
            return Err(ParseError::new(
                line,
                format!(
                    "the name {name:?} is taken by {how}: a family appears once, in one block, \
                     and no two families share a sample name"
                ),
            ));
        }
        self.claims.insert(name, (index, line));
        Ok(())
    }

    /// Ends the open family, checking its last histogram point.
    fn close(&mut self) -> Result<(), ParseError> {
        if let Some(mut points) = self.open.take().and_then(|o| o.points) {
            points.finish().map_err(|(l, m)| ParseError::new(l, m))?;
        }
        Ok(())
    }

    /// Starts family `name` (after [`Self::close`]), untyped until a TYPE line says otherwise.
    fn start(&mut self, line: usize, name: &str) -> Result<usize, ParseError> {
        let index = self.exposition.families.len();
        self.claim(line, index, name.to_owned())?;
        self.exposition
            .families
            .push(Family::new(name, MetricType::Unknown));
        self.open = Some(Open {
            index,
            grouping: Grouping::default(),
            points: None,
        });
        Ok(index)
    }

    /// A HELP, TYPE or UNIT line.
    pub(super) fn metadata(&mut self, line: usize, m: Metadata<'_>) -> Result<(), ParseError> {
        let err = |msg: String| ParseError::new(line, msg);
        let index = match (&self.open, self.open_family()) {
            (Some(o), Some(f)) if f.name == m.name => {
                if !f.samples.is_empty() {
                    return Err(err(format!(
                        "metadata for {:?} after its samples: HELP, TYPE and UNIT come first",
                        m.name
                    )));
                }
                o.index
            }
            _ => {
                self.close()?;
                self.start(line, &m.name)?
            }
        };
        let f = &mut self.exposition.families[index];
        let second = |what: &str| err(format!("second {what} line for {:?}", m.name));
        match m.keyword {
            Keyword::Type => {
                if f.typed {
                    return Err(second("TYPE"));
                }
                f.kind = metadata::kind(m.text).map_err(err)?;
                f.typed = true;
                let kind = f.kind;
                check_unit(kind, f.unit.as_deref()).map_err(err)?;
                if let Some(o) = self.open.as_mut()
                    && matches!(kind, MetricType::Histogram | MetricType::GaugeHistogram)
                {
                    o.points = Some(Points::new(kind == MetricType::GaugeHistogram));
                }
                for suffix in kind.sample_suffixes().iter().filter(|s| !s.is_empty()) {
                    self.claim(line, index, format!("{}{suffix}", m.name))?;
                }
            }
            Keyword::Unit => {
                if f.unit.is_some() {
                    return Err(second("UNIT"));
                }
                let unit = metadata::unit(&m.name, m.text).map_err(err)?;
                check_unit(f.kind, Some(&unit)).map_err(err)?;
                f.unit = Some(unit);
            }
            Keyword::Help => {
                if f.help.is_some() {
                    return Err(second("HELP"));
                }
                let text = help_text(m.text, Dialect::OpenMetrics).map_err(err)?;
                let text = String::from_utf8(text)
                    .map_err(|_| err("the help text is not UTF-8".into()))?;
                f.help = Some(text);
            }
        }
        Ok(())
    }

    /// A sample line: joins the open family or starts an untyped one.
    pub(super) fn sample(&mut self, line: usize, s: Lexed) -> Result<(), ParseError> {
        let exemplar = s.exemplar.as_ref().map_or(0, |e| {
            size_of::<crate::model::Exemplar>()
                + e.labels
                    .iter()
                    .map(|(n, v)| 48 + n.len() + v.len())
                    .sum::<usize>()
        });
        let timestamp = s.timestamp.as_ref().map_or(0, |t| t.0.len());
        // Three copies: the sample, its series key, and vector slack.
        let cost = sample_tally(&s.name, s.labels.iter(), exemplar + timestamp, 3);
        self.spending
            .spend(&cost)
            .map_err(|m| ParseError::budget(line, m))?;
        let err = |msg: String| ParseError::new(line, msg);
        let fits = self
            .open_family()
            .and_then(|f| part_of(f.kind, &f.name, &s.name));
        let part = match fits {
            Some(part) => part,
            None => {
                // A name the open family claims: the sample was meant for it, say so.
                let meant = self.open.as_ref().and_then(|o| {
                    let f = &self.exposition.families[o.index];
                    let owner = self.claims.get(&s.name).map(|c| c.0);
                    (owner == Some(o.index)).then(|| (f.name.clone(), f.kind))
                });
                self.close()?;
                self.start(line, &s.name).map_err(|e| match meant {
                    Some((name, kind)) => err(format!(
                        "sample {:?} does not fit the {} family {name:?}: its samples are named {name}{}",
                        s.name,
                        kind.as_str(),
                        kind.sample_suffixes().join(&format!(", {name}"))
                    )),
                    _ => e,
                })?;
                Part::Value
            }
        };
        let Some(open) = self.open.as_mut() else {
            return Err(err("no family to hold the sample".into()));
        };
        let family = &mut self.exposition.families[open.index];
        values::counting(family.kind, part, &s).map_err(|m| ParseError::specification(line, m))?;
        values::check(family.kind, &family.name, part, &s).map_err(err)?;
        if s.exemplar.is_some() {
            exemplar::check_placement(family.kind, part, &s.name).map_err(err)?;
        }
        let key = grouping::key(family.kind, &family.name, part, &s.labels);
        let seconds = s.timestamp.as_ref().map(|t| t.1);
        open.grouping.push(&key, seconds).map_err(err)?;
        if let Some(points) = open.points.as_mut() {
            let reading = match part {
                Part::Bucket => Reading::Bucket {
                    le: values::bucket_bound(s.label("le")).map_err(err)?,
                    count: s.value,
                },
                Part::Count | Part::GaugeCount => Reading::Count(s.value),
                Part::Sum | Part::GaugeSum => Reading::Sum(s.value),
                _ => Reading::Other,
            };
            points
                .push(&key, seconds, line, reading)
                .map_err(|(l, m)| ParseError::new(l, m))?;
        }
        family.samples.push(Sample {
            name: s.name,
            labels: s.labels,
            value: s.value,
            timestamp: s.timestamp.map(|t| t.0),
            exemplar: s.exemplar,
            line,
        });
        Ok(())
    }

    /// The exposition, once `# EOF` has been read.
    pub(super) fn finish(mut self) -> Result<Exposition, ParseError> {
        self.close()?;
        Ok(self.exposition)
    }
}

/// Info and state-set families have no unit.
fn check_unit(kind: MetricType, unit: Option<&str>) -> Result<(), String> {
    match (kind, unit) {
        (MetricType::Info | MetricType::StateSet, Some(u)) if !u.is_empty() => Err(format!(
            "a {} family has no unit (got {u:?})",
            kind.as_str()
        )),
        _ => Ok(()),
    }
}
