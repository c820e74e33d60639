//! The process engine: definitions as data, instances moved by transitions. The engine knows
//! no business module: modules that a process can drive implement
//! [`Subject`](crate::modules::Subject).

pub mod actions;
pub mod binding;
pub mod definition;
pub mod diagram;
pub mod guards;
pub mod instances;
pub mod metrics;
pub mod published;
pub mod templates;
pub mod timers;

#[cfg(test)]
mod tests {
    /// The engine reaches business modules only through their declarations, so that no import
    /// cycle joins it to them: it names none of them, and the activities it creates (tasks,
    /// notes) do not name it.
    #[test]
    fn the_engine_and_the_business_modules_do_not_import_each_other() {
        let engine = [
            ("actions", include_str!("actions.rs")),
            ("binding", include_str!("binding.rs")),
            ("definition", include_str!("definition.rs")),
            ("diagram", include_str!("diagram.rs")),
            ("guards", include_str!("guards.rs")),
            ("instances", include_str!("instances.rs")),
            ("metrics", include_str!("metrics.rs")),
            ("published", include_str!("published.rs")),
            ("templates", include_str!("templates.rs")),
            ("timers", include_str!("timers.rs")),
        ];
        // Tests may register the modules; the engine itself may not.
        let code = |source: &'static str| source.split("#[cfg(test)]").next().unwrap_or(source);
        for (file, source) in engine {
            let source = code(source);
            for module in [
                "crate::crm",
                "crate::sales",
                "crate::support",
                "crate::registry",
            ] {
                assert!(!source.contains(module), "process/{file}.rs uses {module}");
            }
        }
        let activities = [
            ("calendar", include_str!("../calendar.rs")),
            ("news", include_str!("../news.rs")),
        ];
        for (file, source) in activities {
            assert!(
                !source.contains("crate::process"),
                "{file}.rs uses the engine"
            );
        }
    }
}
