//! What the wasm is made of: the shipped file by section, and the code before wasm-bindgen and
//! wasm-opt by crate and by function (the shipped file has no names left to attribute by).

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use anyhow::Result;
use wasmparser::{KnownCustom, Name, Parser, Payload, TypeRef};

use super::{report::kb, target_dir};
use crate::root;

/// The sizes the tables need, read with wasmparser.
struct Module {
    /// (section, bytes of its contents), largest first; custom sections by name.
    sections: Vec<(String, usize)>,
    /// (function index, body size) of every function the module defines.
    bodies: Vec<(u32, usize)>,
    /// Function names from the "name" custom section (empty when it has none).
    names: BTreeMap<u32, String>,
}

impl Module {
    fn parse(bytes: &[u8]) -> Result<Module> {
        let mut module = Module {
            sections: Vec::new(),
            bodies: Vec::new(),
            names: BTreeMap::new(),
        };
        let mut custom: BTreeMap<String, usize> = BTreeMap::new();
        // Defined functions are numbered after the imported ones.
        let mut next_function = 0u32;
        let len = |range: std::ops::Range<u64>| (range.end - range.start) as usize;
        for payload in Parser::new(0).parse_all(bytes) {
            let (name, size) = match payload? {
                Payload::TypeSection(s) => ("type", len(s.range())),
                Payload::ImportSection(s) => {
                    for import in s.clone().into_imports() {
                        if matches!(import?.ty, TypeRef::Func(_)) {
                            next_function += 1;
                        }
                    }
                    ("import", len(s.range()))
                }
                Payload::FunctionSection(s) => ("function", len(s.range())),
                Payload::TableSection(s) => ("table", len(s.range())),
                Payload::MemorySection(s) => ("memory", len(s.range())),
                Payload::TagSection(s) => ("tag", len(s.range())),
                Payload::GlobalSection(s) => ("global", len(s.range())),
                Payload::ExportSection(s) => ("export", len(s.range())),
                Payload::StartSection { range, .. } => ("start", len(range)),
                Payload::ElementSection(s) => ("element", len(s.range())),
                Payload::DataCountSection { range, .. } => ("data count", len(range)),
                Payload::DataSection(s) => ("data", len(s.range())),
                Payload::CodeSectionStart {
                    unchecked_range, ..
                } => ("code", len(unchecked_range)),
                Payload::CodeSectionEntry(body) => {
                    module.bodies.push((next_function, len(body.range())));
                    next_function += 1;
                    continue;
                }
                Payload::CustomSection(s) => {
                    if let KnownCustom::Name(names) = s.as_known() {
                        for subsection in names {
                            if let Name::Function(map) = subsection? {
                                for naming in map {
                                    let naming = naming?;
                                    module.names.insert(naming.index, naming.name.to_owned());
                                }
                            }
                        }
                    }
                    *custom
                        .entry(format!("custom \"{}\"", s.name()))
                        .or_default() += len(s.range());
                    continue;
                }
                Payload::UnknownSection { range, .. } => ("unknown", len(range)),
                _ => continue,
            };
            module.sections.push((name.to_owned(), size));
        }
        module.sections.extend(custom);
        module.sections.sort_by_key(|s| std::cmp::Reverse(s.1));
        Ok(module)
    }
}

/// The Markdown tables: sections of `shipped`, then crates and largest functions of cargo's
/// output before wasm-bindgen and wasm-opt.
pub fn makeup(shipped: &Path) -> Result<String> {
    let mut out = String::new();
    let module = Module::parse(&std::fs::read(shipped)?)?;
    let total: usize = module.sections.iter().map(|(_, size)| size).sum();
    let _ = writeln!(
        out,
        "The shipped wasm ({}, {} functions) by section:\n",
        kb(total),
        module.bodies.len()
    );
    let _ = writeln!(out, "| section | bytes | share |\n|---|---|---|");
    for (name, size) in &module.sections {
        let _ = writeln!(
            out,
            "| {name} | {} | {:.0} % |",
            kb(*size),
            *size as f64 * 100.0 / total as f64
        );
    }

    let unoptimised = target_dir().join("wasm32-unknown-unknown/wasm-release/portero-spa.wasm");
    let shown = unoptimised
        .strip_prefix(root())
        .unwrap_or(&unoptimised)
        .display()
        .to_string();
    let Ok(bytes) = std::fs::read(&unoptimised) else {
        let _ = writeln!(out, "\n({shown} is missing: no attribution by crate.)");
        return Ok(out);
    };
    let module = Module::parse(&bytes)?;
    if module.names.is_empty() {
        let _ = writeln!(
            out,
            "\n({shown} has no name section: no attribution by crate.)"
        );
        return Ok(out);
    }
    let mut code = 0;
    let mut by_crate: BTreeMap<String, usize> = BTreeMap::new();
    let mut functions: Vec<(usize, String)> = Vec::new();
    for (index, size) in &module.bodies {
        let name = module
            .names
            .get(index)
            .map(|n| format!("{:#}", rustc_demangle::demangle(n)))
            .unwrap_or_else(|| format!("func[{index}]"));
        // Type descriptors that wasm-bindgen interprets and removes: they never ship.
        if name.starts_with("__wbindgen_describe") {
            continue;
        }
        code += size;
        *by_crate.entry(crate_of(&name)).or_default() += size;
        functions.push((*size, name));
    }
    let mut crates: Vec<(usize, String)> = by_crate.into_iter().map(|(c, s)| (s, c)).collect();
    crates.sort_by(|a, b| b.cmp(a));
    functions.sort_by(|a, b| b.cmp(a));
    let _ = writeln!(
        out,
        "\nCode by crate in `{shown}`, before wasm-bindgen and wasm-opt ({} of function \
         bodies, wasm-bindgen's type descriptors left out):\n",
        kb(code),
    );
    let _ = writeln!(out, "| crate | code | share |\n|---|---|---|");
    for (size, name) in crates.iter().take(15) {
        let _ = writeln!(
            out,
            "| {name} | {} | {:.1} % |",
            kb(*size),
            *size as f64 * 100.0 / code as f64
        );
    }
    let _ = writeln!(
        out,
        "\nLargest functions:\n\n| function | code |\n|---|---|"
    );
    for (size, name) in functions.iter().take(12) {
        let mut name = name.replace('|', "\\|");
        if name.chars().count() > 110 {
            name = name.chars().take(107).collect::<String>() + "…";
        }
        let _ = writeln!(out, "| `{name}` | {} |", kb(*size));
    }
    Ok(out)
}

/// The crate a demangled function belongs to: `leptos` for `leptos::mount::mount_to`,
/// `tachys` for `<tachys::x::Y as core::Z>::f`, and for an impl on a generic or primitive type,
/// `<T as tachys::view::Render>::build`, the trait's crate.
fn crate_of(name: &str) -> String {
    if !name.contains("::") {
        // Not a Rust path: wasm-bindgen's glue and exports, `main`, compiler builtins.
        return "(glue, exports, builtins)".into();
    }
    let path = match name.strip_prefix('<').and_then(|n| n.split_once(" as ")) {
        Some((self_type, rest)) => {
            let self_type = self_type.trim_start_matches(['&', '*', '[', '(']);
            let self_type = ["mut ", "const ", "dyn "]
                .iter()
                .fold(self_type, |t, p| t.strip_prefix(p).unwrap_or(t));
            if self_type.contains("::") {
                self_type
            } else {
                rest
            }
        }
        None => name.trim_start_matches('<'),
    };
    let head = path.split("::").next().unwrap_or(path);
    if head.is_empty() || !head.chars().all(|c| c.is_alphanumeric() || c == '_') {
        "(other)".into()
    } else {
        head.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One imported and two defined functions, named in a "name" section.
    const MODULE: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
        0x02, 0x07, 0x01, 0x01, b'm', 0x01, b'f', 0x00, 0x00, // import: function m.f
        0x03, 0x03, 0x02, 0x00, 0x00, // function: two of type 0
        0x0a, 0x08, 0x02, 0x02, 0x00, 0x0b, 0x03, 0x00, 0x01, 0x0b, // code: 2 and 3 bytes
        0x00, 0x0f, 0x04, b'n', b'a', b'm', b'e', // custom "name"
        0x01, 0x08, 0x02, 0x01, 0x01, b'a', 0x02, 0x02, b'b', b'c', // functions 1 and 2
    ];

    #[test]
    fn sections_bodies_and_names_are_sized() {
        let module = Module::parse(MODULE).unwrap();
        let sections: Vec<(&str, usize)> = module
            .sections
            .iter()
            .map(|(name, size)| (name.as_str(), *size))
            .collect();
        assert_eq!(
            sections,
            [
                ("custom \"name\"", 15),
                ("code", 8),
                ("import", 7),
                ("type", 4),
                ("function", 3)
            ]
        );
        // Numbered after the one import.
        assert_eq!(module.bodies, [(1, 2), (2, 3)]);
        assert_eq!(module.names.get(&1).map(String::as_str), Some("a"));
        assert_eq!(module.names.get(&2).map(String::as_str), Some("bc"));
    }

    #[test]
    fn functions_are_attributed_to_their_crate() {
        for (name, expected) in [
            ("leptos::mount::mount_to", "leptos"),
            ("<tachys::html::Element as core::fmt::Debug>::fmt", "tachys"),
            (
                "<T as tachys::view::any_view::IntoAny>::into_any::build",
                "tachys",
            ),
            ("<&isize as core::fmt::Debug>::fmt", "core"),
            ("<[T] as alloc::slice::hack::ConvertVec>::to_vec", "alloc"),
            ("__wbindgen_malloc", "(glue, exports, builtins)"),
        ] {
            assert_eq!(crate_of(name), expected, "{name}");
        }
    }
}
