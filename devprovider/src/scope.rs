//! The `scope` parameter (RFC 6749 §3.3): what a client asks for and what a grant allows. Which
//! names exist, and how they are separated, is each dialect's business (`Rules::parse_scope`).

/// The scopes of a request, deduplicated, in the order the client sent them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope(Vec<String>);

impl Scope {
    /// Names split at any of `separators`; the first one not in `known` is the error.
    pub fn refusing_unknown(
        input: &str,
        separators: &[char],
        known: &[&str],
    ) -> Result<Scope, String> {
        let names: Vec<&str> = split(input, separators).collect();
        match names.iter().find(|name| !known.contains(name)) {
            Some(unknown) => Err((*unknown).to_owned()),
            None => Ok(Scope::deduplicated(names)),
        }
    }

    /// Names split at any of `separators`; those not in `known` are left out.
    pub fn dropping_unknown(input: &str, separators: &[char], known: &[&str]) -> Scope {
        Scope::deduplicated(split(input, separators).filter(|name| known.contains(name)))
    }

    fn deduplicated<'a>(names: impl IntoIterator<Item = &'a str>) -> Scope {
        let mut scopes: Vec<String> = Vec::new();
        for name in names {
            if !scopes.iter().any(|s| s == name) {
                scopes.push(name.to_owned());
            }
        }
        Scope(scopes)
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// True when the scope holds any of `scopes`.
    pub fn contains_any(&self, scopes: &[&str]) -> bool {
        scopes.iter().any(|s| self.contains(s))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn join(&self, separator: &str) -> String {
        self.0.join(separator)
    }

    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }
}

fn split<'a>(input: &'a str, separators: &'a [char]) -> impl Iterator<Item = &'a str> {
    input.split(separators).filter(|s| !s.is_empty())
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: [&str; 3] = ["a", "b", "c"];

    #[test]
    fn names_are_kept_once_in_the_order_sent() {
        let scope = Scope::refusing_unknown("b a  b", &[' '], &KNOWN).unwrap();
        assert_eq!(scope.join(","), "b,a");
        assert!(scope.is_subset_of(&Scope::refusing_unknown("a b c", &[' '], &KNOWN).unwrap()));
    }

    #[test]
    fn an_unknown_name_is_refused_or_dropped() {
        assert_eq!(
            Scope::refusing_unknown("a x b", &[' '], &KNOWN),
            Err("x".to_owned())
        );
        assert_eq!(
            Scope::dropping_unknown("a,x b", &[' ', ','], &KNOWN).to_string(),
            "a b"
        );
    }
}
