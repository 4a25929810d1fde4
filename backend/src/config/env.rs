//! The environment's part of the configuration: `PORTERO_SECTION__KEY=value` sets `section.key`
//! (`PORTERO_PROVIDERS__GITHUB__CLIENT_SECRET`), and a value's type comes from the key it sets —
//! a number, a list (comma-separated), a string — as the typed configuration asks for it, not
//! from a list kept by hand. Names without `__` (`PORTERO_CONFIG`, `PORTERO_LOG`, a wrapper's
//! `PORTERO_BIN`) set no key and are left alone.
//!
//! Hand-written, since neither well-kept crate names the variable at fault (tried with figment
//! 0.10 and config 0.15, for `PORTERO_SERVER__MAX_CONNECTIONS=abc`). figment names the key
//! ("SERVER.MAX_CONNECTIONS" in "`PORTERO_` environment variable(s)"), reads only the process's
//! environment (the tests hand theirs in), refuses a secret made of digits (it reads `12345` as
//! a number) and takes `a, b` as one string, not a list. config names the key too ("key
//! `server.max_connections` in the environment"), only the table for an unknown key, and splits
//! every value at commas unless each list key is listed by hand.

use serde::de::{
    self, value::MapDeserializer, value::SeqDeserializer, DeserializeOwned, Deserializer,
    IntoDeserializer, Unexpected, Visitor,
};

use super::ConfigError;

const ENV_PREFIX: &str = "PORTERO_";
const SEPARATOR: &str = "__";

/// The keys the environment set (as dotted paths), with the variable that set each, and the
/// tables it created that the file did not have.
#[derive(Default)]
pub struct Overrides {
    keys: Vec<(String, String)>,
    tables: Vec<(String, String)>,
}

impl Overrides {
    /// The variable to blame for an error at `path`: the one that set that key, or that made
    /// the table the key is in.
    fn variable_for(&self, path: &str) -> Option<&str> {
        let within = |table: &str| path == table || path.starts_with(&format!("{table}."));
        self.keys
            .iter()
            .find(|(key, _)| key == path)
            .or_else(|| self.tables.iter().find(|(table, _)| within(table)))
            .map(|(_, var)| var.as_str())
    }
}

/// Writes each `PORTERO_A__B__C` into `table` as the string it is; its type is settled when the
/// configuration is read (`read`).
pub fn apply(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Overrides, ConfigError> {
    let mut overrides = Overrides::default();
    for (name, value) in env {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if !path.contains(SEPARATOR) {
            continue;
        }
        let keys: Vec<String> = path.split(SEPARATOR).map(str::to_ascii_lowercase).collect();
        if keys.iter().any(String::is_empty) {
            return Err(ConfigError::from_env(format!(
                "{name}: an empty key between `__` separators"
            )));
        }
        let (last, parents) = keys.split_last().expect("split yields at least one item");
        let mut node = &mut *table;
        for (depth, key) in parents.iter().enumerate() {
            if !node.contains_key(key) {
                overrides
                    .tables
                    .push((keys[..=depth].join("."), name.clone()));
            }
            let entry = node
                .entry(key.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = entry.as_table_mut().ok_or_else(|| {
                ConfigError::from_env(format!(
                    "{name}: `{}` is a value in the config file, not a table",
                    keys[..=depth].join(".")
                ))
            })?;
        }
        node.insert(last.clone(), toml::Value::String(value));
        overrides.keys.push((keys.join("."), name));
    }
    Ok(overrides)
}

/// Reads a `T` from `value` (found at `prefix` in the file), strings standing in for numbers,
/// booleans and lists where `T` wants those. An error names the key, and the variable when one
/// set it.
pub fn read<T: DeserializeOwned>(
    value: toml::Value,
    prefix: &str,
    overrides: &Overrides,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(Lenient(value)).map_err(|e| {
        let inner = e.path().to_string();
        let path = match (prefix, inner.as_str()) {
            (prefix, ".") => prefix.to_owned(),
            ("", inner) => inner.to_owned(),
            (prefix, inner) => format!("{prefix}.{inner}"),
        };
        let message = e.into_inner().to_string();
        match overrides.variable_for(&path) {
            Some(var) => ConfigError::from_env(format!("{var} ({path}): {message}")),
            None if path.is_empty() => ConfigError::new(message),
            None => ConfigError::new(format!("{path}: {message}")),
        }
    })
}

/// A TOML value that also reads a string as the number, boolean or comma-separated list the
/// target type asks for: what an environment variable holds.
struct Lenient(toml::Value);

type Error = de::value::Error;

impl<'de> IntoDeserializer<'de, Error> for Lenient {
    type Deserializer = Lenient;

    fn into_deserializer(self) -> Lenient {
        self
    }
}

macro_rules! from_text {
    ($($method:ident => $visit:ident: $ty:ty, $what:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.0 {
                toml::Value::String(text) => match text.trim().parse::<$ty>() {
                    Ok(parsed) => visitor.$visit(parsed),
                    Err(_) => Err(de::Error::invalid_value(Unexpected::Str(&text), &$what)),
                },
                other => Lenient(other).deserialize_any(visitor),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for Lenient {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            toml::Value::String(s) => visitor.visit_string(s),
            toml::Value::Integer(i) => visitor.visit_i64(i),
            toml::Value::Float(f) => visitor.visit_f64(f),
            toml::Value::Boolean(b) => visitor.visit_bool(b),
            toml::Value::Datetime(d) => visitor.visit_string(d.to_string()),
            toml::Value::Array(items) => {
                visitor.visit_seq(SeqDeserializer::new(items.into_iter().map(Lenient)))
            }
            toml::Value::Table(table) => visitor.visit_map(MapDeserializer::new(
                table.into_iter().map(|(k, v)| (k, Lenient(v))),
            )),
        }
    }

    from_text! {
        deserialize_u8 => visit_u64: u64, "a whole number";
        deserialize_u16 => visit_u64: u64, "a whole number";
        deserialize_u32 => visit_u64: u64, "a whole number";
        deserialize_u64 => visit_u64: u64, "a whole number";
        deserialize_i8 => visit_i64: i64, "a whole number";
        deserialize_i16 => visit_i64: i64, "a whole number";
        deserialize_i32 => visit_i64: i64, "a whole number";
        deserialize_i64 => visit_i64: i64, "a whole number";
        deserialize_f32 => visit_f64: f64, "a number";
        deserialize_f64 => visit_f64: f64, "a number";
        deserialize_bool => visit_bool: bool, "true or false";
    }

    /// A list in one string: `a, b` (entries trimmed, empty ones dropped).
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            toml::Value::String(list) => {
                let items: Vec<Lenient> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| Lenient(toml::Value::String(item.to_owned())))
                    .collect();
                visitor.visit_seq(SeqDeserializer::new(items.into_iter()))
            }
            other => Lenient(other).deserialize_any(visitor),
        }
    }

    /// TOML has no null: a key that is there is `Some`.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Unit variants (`kind = "github"`) are strings.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            toml::Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            other => Lenient(other).deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct tuple tuple_struct map struct
        identifier ignored_any i128 u128
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Shape {
        count: u32,
        on: bool,
        names: Vec<String>,
        text: String,
        maybe: Option<u64>,
    }

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn shape_from(vars: &[(&str, &str)]) -> Result<Shape, ConfigError> {
        let mut table = toml::Table::new();
        let mut section = toml::Table::new();
        section.insert("text".into(), toml::Value::String("from the file".into()));
        table.insert("s".into(), toml::Value::Table(section));
        let overrides = apply(&mut table, env(vars))?;
        let section = table.remove("s").unwrap();
        read(section, "s", &overrides)
    }

    #[test]
    fn strings_from_the_environment_become_the_type_each_key_wants() {
        let shape = shape_from(&[
            ("PORTERO_S__COUNT", "7"),
            ("PORTERO_S__ON", "true"),
            ("PORTERO_S__NAMES", "a, b,,c"),
            ("PORTERO_S__MAYBE", "12"),
        ])
        .unwrap();
        assert_eq!(
            shape,
            Shape {
                count: 7,
                on: true,
                names: vec!["a".into(), "b".into(), "c".into()],
                text: "from the file".into(),
                maybe: Some(12),
            }
        );
    }

    #[test]
    fn a_bad_value_or_an_unknown_key_from_the_environment_names_the_variable() {
        let base = [
            ("PORTERO_S__ON", "true"),
            ("PORTERO_S__NAMES", "a"),
            ("PORTERO_S__COUNT", "1"),
        ];
        let bad_number = shape_from(&[base[0], base[1], ("PORTERO_S__COUNT", "many")])
            .unwrap_err()
            .to_string();
        assert!(bad_number.contains("PORTERO_S__COUNT"), "{bad_number}");
        assert!(bad_number.contains("s.count"), "{bad_number}");
        let unknown =
            shape_from(&[base[0], base[1], base[2], ("PORTERO_S__COUTN", "1")]).unwrap_err();
        assert!(
            unknown.to_string().contains("PORTERO_S__COUTN"),
            "{unknown}"
        );
        assert!(!unknown.blames_file());
    }

    #[test]
    fn names_without_a_separator_are_not_keys() {
        let mut table = toml::Table::new();
        let overrides = apply(
            &mut table,
            env(&[
                ("PORTERO_LOG", "debug"),
                ("PORTERO_BIN", "/x"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert!(table.is_empty());
        assert!(overrides.keys.is_empty());
    }
}
