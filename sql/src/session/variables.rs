//! SET, SHOW and RESET, and the current_setting()/set_config() functions.

use super::*;

impl Session {
    pub(super) fn set_setting(&mut self, name: &str, value: &str) -> Result<()> {
        let reported = self
            .settings
            .write()
            .expect("settings lock")
            .set(name, value)?;
        self.after_setting_change(reported);
        Ok(())
    }

    pub(super) fn after_setting_change(&mut self, reported: Option<Reported>) {
        if let Some(r) = reported {
            self.reported.push(r);
        }
    }

    pub(super) fn set(&mut self, set: &Set) -> Result<Output> {
        match set {
            Set::SingleAssignment {
                variable, values, ..
            } => {
                let name = object_name(variable);
                if values.len() == 1 && is_default(&values[0]) {
                    let reported = self.settings.write().expect("settings lock").reset(&name)?;
                    self.after_setting_change(reported);
                } else {
                    let value = values
                        .iter()
                        .map(expr_text)
                        .collect::<Result<Vec<_>>>()?
                        .join(", ");
                    self.set_setting(&name, &value)?;
                }
            }
            Set::SetTimeZone { value, .. } => {
                let value = expr_text(value)?;
                if value.eq_ignore_ascii_case("local") || value.eq_ignore_ascii_case("default") {
                    let reported = self
                        .settings
                        .write()
                        .expect("settings lock")
                        .reset("TimeZone")?;
                    self.after_setting_change(reported);
                } else {
                    self.set_setting("TimeZone", &value)?;
                }
            }
            Set::SetNames { charset_name, .. } => {
                self.set_setting("client_encoding", &charset_name.value)?;
            }
            Set::SetNamesDefault {} => {
                let reported = self
                    .settings
                    .write()
                    .expect("settings lock")
                    .reset("client_encoding")?;
                self.after_setting_change(reported);
            }
            Set::SetTransaction { modes, session, .. } => {
                let prefix = if *session { "default_" } else { "" };
                for mode in modes {
                    let (name, value) = transaction_mode(mode);
                    self.set_setting(&format!("{prefix}{name}"), value)?;
                }
            }
            Set::SetSessionAuthorization(_) | Set::SetRole { .. } => {
                return Err(Error::unsupported(
                    "SET ROLE / SESSION AUTHORIZATION is not supported",
                ));
            }
            other => {
                return Err(Error::unsupported(format!("{other} is not supported")));
            }
        }
        Ok(Output::Command(CommandTag::new("SET")))
    }

    pub(super) fn show_schema(&self, name: &str) -> SchemaRef {
        let column = if name.eq_ignore_ascii_case("all") {
            return Arc::new(Schema::new(vec![
                Field::new("name", DataType::Utf8, false),
                Field::new("setting", DataType::Utf8, false),
            ]));
        } else {
            Settings::canonical_name(name)
        };
        Arc::new(Schema::new(vec![Field::new(column, DataType::Utf8, false)]))
    }

    pub(super) fn show(&mut self, variable: &[ast::Ident]) -> Result<Output> {
        let name = show_name(variable);
        let schema = self.show_schema(&name);
        let columns: Vec<ArrayRef> = if name.eq_ignore_ascii_case("all") {
            let all = self.settings().all();
            vec![
                Arc::new(StringArray::from_iter_values(
                    all.iter().map(|(n, _)| n.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(
                    all.iter().map(|(_, v)| v.as_str()),
                )),
            ]
        } else {
            let value = self.settings().get(&name)?;
            vec![Arc::new(StringArray::from(vec![value]))]
        };
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        Ok(Output::Rows(rows_from_batches(
            schema,
            vec![batch],
            "SHOW",
        )?))
    }

    pub(super) fn reset(&mut self, reset: &Reset) -> Result<Output> {
        match reset {
            Reset::ALL => {
                let reported = self.settings.write().expect("settings lock").reset_all();
                self.reported.extend(reported);
            }
            Reset::ConfigurationParameter(name) => {
                let reported = self
                    .settings
                    .write()
                    .expect("settings lock")
                    .reset(&object_name(name))?;
                self.after_setting_change(reported);
            }
        }
        Ok(Output::Command(CommandTag::new("RESET")))
    }
}

pub(super) fn show_name(variable: &[ast::Ident]) -> String {
    let words: Vec<String> = variable.iter().map(|i| i.value.to_lowercase()).collect();
    match words.join(" ").as_str() {
        "time zone" => "TimeZone".to_string(),
        "transaction isolation level" => "transaction_isolation".to_string(),
        _ => words.join("."),
    }
}

/// `current_setting(name [, missing_ok])`, reading this session's settings.
pub(super) fn current_setting_udf(settings: Arc<RwLock<Settings>>) -> ScalarUDF {
    create_udf(
        "current_setting",
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |args: &[ColumnarValue]| {
            let names = args[0].to_array(1)?;
            let names = names
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| {
                    datafusion::error::DataFusionError::Plan("current_setting(text)".into())
                })?;
            let settings = settings.read().expect("settings lock");
            let mut out = Vec::with_capacity(names.len());
            for name in names.iter() {
                out.push(match name {
                    Some(n) => Some(
                        settings
                            .get(n)
                            .map_err(datafusion::error::DataFusionError::from)?,
                    ),
                    None => None,
                });
            }
            Ok(crate::catalog::strings(out))
        }),
    )
}

/// `set_config(name, value, is_local)`: sets a setting and returns the new value.
pub(super) fn set_config_udf(settings: Arc<RwLock<Settings>>) -> ScalarUDF {
    create_udf(
        "set_config",
        vec![DataType::Utf8, DataType::Utf8, DataType::Boolean],
        DataType::Utf8,
        Volatility::Volatile,
        Arc::new(move |args: &[ColumnarValue]| {
            let names = args[0].to_array(1)?;
            let values = args[1].to_array(names.len())?;
            let as_str = |a: &ArrayRef| a.as_any().downcast_ref::<StringArray>().cloned();
            let (Some(names), Some(values)) = (as_str(&names), as_str(&values)) else {
                return Err(datafusion::error::DataFusionError::Plan(
                    "set_config(text, text, boolean)".into(),
                ));
            };
            let mut settings = settings.write().expect("settings lock");
            let mut out = Vec::with_capacity(names.len());
            for (name, value) in names.iter().zip(values.iter()) {
                out.push(match (name, value) {
                    (Some(n), Some(v)) => {
                        settings
                            .set(n, v)
                            .map_err(datafusion::error::DataFusionError::from)?;
                        Some(
                            settings
                                .get(n)
                                .map_err(datafusion::error::DataFusionError::from)?,
                        )
                    }
                    _ => None,
                });
            }
            Ok(crate::catalog::strings(out))
        }),
    )
}

/// `pg_show_all_settings()`, which `pg_settings` is read as (see the
/// statement rewrites): this session's parameters.
#[derive(Debug)]
pub(super) struct SettingsFunction(pub(super) Arc<RwLock<Settings>>);

impl datafusion::catalog::TableFunctionImpl for SettingsFunction {
    fn call_with_args(
        &self,
        _args: datafusion::catalog::TableFunctionArgs,
    ) -> datafusion::error::Result<Arc<dyn datafusion::catalog::TableProvider>> {
        use datafusion::arrow::array::{BooleanArray, Int32Array, ListBuilder, StringBuilder};
        let rows = self.0.read().expect("settings lock").rows();
        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        let schema = Arc::new(Schema::new(vec![
            text("name"),
            text("setting"),
            text("unit"),
            text("category"),
            text("short_desc"),
            text("extra_desc"),
            text("context"),
            text("vartype"),
            text("source"),
            text("min_val"),
            text("max_val"),
            Field::new(
                "enumvals",
                DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                true,
            ),
            text("boot_val"),
            text("reset_val"),
            text("sourcefile"),
            Field::new("sourceline", DataType::Int32, true),
            Field::new("pending_restart", DataType::Boolean, true),
        ]));
        let strings = |f: &dyn Fn(&crate::settings::SettingRow) -> Option<String>| -> ArrayRef {
            Arc::new(rows.iter().map(f).collect::<StringArray>())
        };
        let mut enumvals = ListBuilder::new(StringBuilder::new());
        for row in &rows {
            match &row.enumvals {
                Some(values) => {
                    for value in values {
                        enumvals.values().append_value(value);
                    }
                    enumvals.append(true);
                }
                None => enumvals.append(false),
            }
        }
        let columns: Vec<ArrayRef> = vec![
            strings(&|r| Some(r.name.to_string())),
            strings(&|r| Some(r.setting.clone())),
            strings(&|r| r.unit.map(str::to_string)),
            strings(&|_| Some("Customized Options".to_string())),
            strings(&|_| Some(String::new())),
            strings(&|_| None),
            strings(&|r| Some(r.context.to_string())),
            strings(&|r| Some(r.vartype.to_string())),
            strings(&|r| Some(r.source.to_string())),
            strings(&|r| r.min_val.clone()),
            strings(&|r| r.max_val.clone()),
            Arc::new(enumvals.finish()),
            strings(&|r| Some(r.boot_val.clone())),
            strings(&|r| Some(r.reset_val.clone())),
            strings(&|_| None),
            Arc::new(Int32Array::new_null(rows.len())),
            Arc::new(BooleanArray::from(vec![false; rows.len()])),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}
