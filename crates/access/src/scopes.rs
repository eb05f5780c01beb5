//! SMART on FHIR v2 scopes: `patient/Observation.rs`, `user/*.cruds`,
//! `system/Patient.r`. The v1 forms `.read`, `.write` and `.*` are read as their v2
//! equivalents. Granular scopes (`?category=...`) are refused, not widened.

use std::fmt;

/// Whose data a resource scope covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeContext {
    /// The patient in the launch context only.
    Patient,
    /// What the signed-in user may see.
    User,
    /// A back-end system, no user present.
    System,
}

/// The SMART v2 interaction letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interaction {
    /// `c`: create.
    Create,
    /// `r`: read and vread (and the history of one resource).
    Read,
    /// `u`: update.
    Update,
    /// `d`: delete.
    Delete,
    /// `s`: search (and type/system history).
    Search,
}

impl Interaction {
    pub fn letter(self) -> char {
        match self {
            Interaction::Create => 'c',
            Interaction::Read => 'r',
            Interaction::Update => 'u',
            Interaction::Delete => 'd',
            Interaction::Search => 's',
        }
    }

    pub fn is_write(self) -> bool {
        matches!(
            self,
            Interaction::Create | Interaction::Update | Interaction::Delete
        )
    }
}

/// One resource scope such as `patient/Observation.rs`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceScope {
    pub context: ScopeContext,
    /// `None` for `*`.
    pub rtype: Option<String>,
    pub create: bool,
    pub read: bool,
    pub update: bool,
    pub delete: bool,
    pub search: bool,
}

impl ResourceScope {
    pub fn allows(&self, rtype: &str, interaction: Interaction) -> bool {
        self.rtype.as_deref().is_none_or(|t| t == rtype)
            && match interaction {
                Interaction::Create => self.create,
                Interaction::Read => self.read,
                Interaction::Update => self.update,
                Interaction::Delete => self.delete,
                Interaction::Search => self.search,
            }
    }
}

impl fmt::Display for ResourceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ctx = match self.context {
            ScopeContext::Patient => "patient",
            ScopeContext::User => "user",
            ScopeContext::System => "system",
        };
        let mut letters = String::new();
        for (on, c) in [
            (self.create, 'c'),
            (self.read, 'r'),
            (self.update, 'u'),
            (self.delete, 'd'),
            (self.search, 's'),
        ] {
            if on {
                letters.push(c);
            }
        }
        write!(
            f,
            "{ctx}/{}.{letters}",
            self.rtype.as_deref().unwrap_or("*")
        )
    }
}

/// A parsed, space-separated scope string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes {
    pub resources: Vec<ResourceScope>,
    /// Other scopes, kept as given: `openid`, `fhirUser`, `launch/patient`,
    /// `offline_access`, `online_access`...
    pub other: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scope '{scope}': {reason}")]
pub struct ScopeError {
    pub scope: String,
    pub reason: String,
}

/// Non-resource scopes OpenGP understands.
const KNOWN_OTHER: &[&str] = &[
    "openid",
    "fhirUser",
    "profile",
    "launch",
    "launch/patient",
    "offline_access",
    "online_access",
];

impl Scopes {
    /// Parses a space-separated scope string; any unknown or malformed scope is an error
    /// (a client must not be granted something it did not clearly ask for).
    pub fn parse(s: &str) -> Result<Scopes, ScopeError> {
        let mut out = Scopes::default();
        for scope in s.split_ascii_whitespace() {
            if KNOWN_OTHER.contains(&scope) {
                if !out.other.iter().any(|o| o == scope) {
                    out.other.push(scope.to_string());
                }
                continue;
            }
            let rs = parse_resource_scope(scope)?;
            if !out.resources.contains(&rs) {
                out.resources.push(rs);
            }
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.other.is_empty()
    }

    pub fn has(&self, other: &str) -> bool {
        self.other.iter().any(|o| o == other)
    }

    /// Whether any resource scope allows `interaction` on `rtype`.
    pub fn allows(&self, rtype: &str, interaction: Interaction) -> bool {
        self.resources.iter().any(|s| s.allows(rtype, interaction))
    }

    /// Whether any resource scope is of this context.
    pub fn has_context(&self, context: ScopeContext) -> bool {
        self.resources.iter().any(|s| s.context == context)
    }

    /// The scopes of `requested` that `self` (what a client is registered for) covers:
    /// each requested resource scope is narrowed to the letters a registered scope of the
    /// same context and type grants; what nothing covers is dropped.
    pub fn grant(&self, requested: &Scopes) -> Scopes {
        let mut out = Scopes::default();
        for r in &requested.resources {
            let mut g = r.clone();
            let covers = |pick: fn(&ResourceScope) -> bool| {
                self.resources.iter().any(|a| {
                    a.context == r.context && (a.rtype.is_none() || a.rtype == r.rtype) && pick(a)
                })
            };
            g.create &= covers(|a| a.create);
            g.read &= covers(|a| a.read);
            g.update &= covers(|a| a.update);
            g.delete &= covers(|a| a.delete);
            g.search &= covers(|a| a.search);
            if (g.create || g.read || g.update || g.delete || g.search)
                && !out.resources.contains(&g)
            {
                out.resources.push(g);
            }
        }
        for o in &requested.other {
            if self.other.contains(o) || o == "openid" || o == "fhirUser" {
                out.other.push(o.clone());
            }
        }
        out
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .resources
            .iter()
            .map(ToString::to_string)
            .chain(self.other.iter().cloned())
            .collect();
        f.write_str(&parts.join(" "))
    }
}

fn parse_resource_scope(scope: &str) -> Result<ResourceScope, ScopeError> {
    let err = |reason: &str| ScopeError {
        scope: scope.to_string(),
        reason: reason.to_string(),
    };
    if scope.contains('?') {
        return Err(err("granular scopes (with '?') are not supported"));
    }
    let (context, rest) = scope
        .split_once('/')
        .ok_or_else(|| err("expected patient/, user/ or system/ followed by Type.letters"))?;
    let context = match context {
        "patient" => ScopeContext::Patient,
        "user" => ScopeContext::User,
        "system" => ScopeContext::System,
        _ => return Err(err("the context must be patient, user or system")),
    };
    let (rtype, perms) = rest
        .rsplit_once('.')
        .ok_or_else(|| err("expected Type.letters, such as Observation.rs"))?;
    let rtype = if rtype == "*" {
        None
    } else if fhir::defs::Definitions::get().is_resource_type(rtype) {
        Some(rtype.to_string())
    } else {
        return Err(err("not a FHIR R4 resource type"));
    };
    let mut s = ResourceScope {
        context,
        rtype,
        create: false,
        read: false,
        update: false,
        delete: false,
        search: false,
    };
    match perms {
        "read" => (s.read, s.search) = (true, true),
        "write" => (s.create, s.update, s.delete) = (true, true, true),
        "*" => (s.create, s.read, s.update, s.delete, s.search) = (true, true, true, true, true),
        letters => {
            // v2 letters must appear in the order c, r, u, d, s, each at most once.
            let mut last = None;
            for c in letters.chars() {
                let pos = "cruds"
                    .find(c)
                    .ok_or_else(|| err("permissions are the letters c, r, u, d, s"))?;
                if last.is_some_and(|l| pos <= l) {
                    return Err(err("permission letters must be in the order c r u d s"));
                }
                last = Some(pos);
                match c {
                    'c' => s.create = true,
                    'r' => s.read = true,
                    'u' => s.update = true,
                    'd' => s.delete = true,
                    _ => s.search = true,
                }
            }
            if last.is_none() {
                return Err(err("no permissions given"));
            }
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_scopes_parse_and_print_back() {
        let s =
            Scopes::parse("patient/Observation.rs user/*.cruds system/Patient.r openid").unwrap();
        assert_eq!(
            s.to_string(),
            "patient/Observation.rs user/*.cruds system/Patient.r openid"
        );
        assert!(s.allows("Observation", Interaction::Search));
        assert!(s.allows("Condition", Interaction::Delete));
    }

    #[test]
    fn v1_forms_map_to_v2() {
        let s = Scopes::parse("system/Patient.read").unwrap();
        assert_eq!(s.to_string(), "system/Patient.rs");
    }

    #[test]
    fn malformed_scopes_are_refused() {
        for bad in [
            "patient/Observation.sr",
            "patient/Observation.x",
            "patient/Observation.",
            "patient/Nope.r",
            "admin/Patient.r",
            "Patient.r",
            "patient/Observation.rs?category=laboratory",
            "superuser",
        ] {
            assert!(Scopes::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn grant_narrows_to_what_the_client_is_registered_for() {
        let registered = Scopes::parse("system/Patient.rs system/Observation.r").unwrap();
        let asked =
            Scopes::parse("system/Patient.cruds system/Observation.rs system/Condition.r").unwrap();
        assert_eq!(
            registered.grant(&asked).to_string(),
            "system/Patient.rs system/Observation.r"
        );
    }
}
