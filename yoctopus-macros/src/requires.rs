//! The grammar of requirement expressions in `#[endpoint(requires(...))]`.
//!
//! ```text
//! requirement := setting                      auth.authenticated        (a bool setting)
//!              | "!" setting                  !auth.banned
//!              | setting op value             auth.login_count >= 3     (op: == != < <= > >=)
//!              | path                         can_edit                  (an async fn(&Connection) -> bool)
//! setting     := plugin "." field ("." field)*
//! plugin      := a path to the plugin's module, or `self`
//! ```
//!
//! Only the shape is checked here. Whether the plugin, the field and the value's type exist is
//! left to rustc, through code spanned at the user's tokens.

use quote::ToTokens;
use syn::{BinOp, Expr, Member, Path};

/// One requirement as written.
pub(crate) enum Requirement {
    /// A test on a plugin's setting.
    Setting {
        plugin: Path,
        fields: Vec<Member>,
        test: SettingTest,
        #[cfg_attr(not(test), expect(dead_code, reason = "read by the model tests"))]
        text: String,
    },
    /// An async predicate function.
    Predicate { function: Path, text: String },
}

pub(crate) enum SettingTest {
    IsTrue,
    IsFalse,
    Compare(BinOp, Box<Expr>),
}

impl Requirement {
    pub(crate) fn parse(expr: &Expr) -> syn::Result<Self> {
        match expr {
            Expr::Paren(inner) => Self::parse(&inner.expr),
            Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => {
                Ok(Self::Predicate {
                    function: path.path.clone(),
                    text: path_text(&path.path),
                })
            }
            Expr::Field(_) => setting(expr, SettingTest::IsTrue),
            Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Not(_)) => {
                setting(&unary.expr, SettingTest::IsFalse)
            }
            Expr::Binary(binary) if is_comparison(&binary.op) => setting(
                &binary.left,
                SettingTest::Compare(binary.op, binary.right.clone()),
            ),
            Expr::Binary(binary) if matches!(binary.op, BinOp::And(_)) => Err(syn::Error::new_spanned(
                binary.op,
                "requirements are not joined with `&&`; list them instead, e.g. `requires(auth.authenticated, auth.admin)`",
            )),
            Expr::Binary(binary) if matches!(binary.op, BinOp::Or(_)) => Err(syn::Error::new_spanned(
                binary.op,
                "requirements are not joined with `||`; write an async predicate function that tests either, and require it by name",
            )),
            other => Err(unsupported(other)),
        }
    }

    /// The requirement as written.
    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        match self {
            Self::Setting { text, .. } | Self::Predicate { text, .. } => text,
        }
    }
}

fn setting(expr: &Expr, test: SettingTest) -> syn::Result<Requirement> {
    let mut fields = Vec::new();
    let mut current = expr;
    let plugin = loop {
        match current {
            Expr::Field(field) => {
                fields.push(field.member.clone());
                current = &field.base;
            }
            Expr::Path(path) if path.qself.is_none() && !fields.is_empty() => {
                break path.path.clone()
            }
            _ => return Err(unsupported(expr)),
        }
    };
    fields.reverse();
    let mut text = path_text(&plugin);
    for field in &fields {
        text.push('.');
        text.push_str(&field.to_token_stream().to_string());
    }
    match &test {
        SettingTest::IsTrue => {}
        SettingTest::IsFalse => text.insert(0, '!'),
        SettingTest::Compare(op, value) => {
            text.push_str(&format!(
                " {} {}",
                op.to_token_stream(),
                value.to_token_stream()
            ));
        }
    }
    Ok(Requirement::Setting {
        plugin,
        fields,
        test,
        text,
    })
}

fn is_comparison(op: &BinOp) -> bool {
    matches!(
        op,
        BinOp::Eq(_) | BinOp::Ne(_) | BinOp::Lt(_) | BinOp::Le(_) | BinOp::Gt(_) | BinOp::Ge(_)
    )
}

fn path_text(path: &Path) -> String {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

fn unsupported(expr: &Expr) -> syn::Error {
    syn::Error::new_spanned(
        expr,
        "unsupported requirement; expected `plugin.setting`, `!plugin.setting`, `plugin.setting == value` \
         (or `!=`, `<`, `<=`, `>`, `>=`), or the name of an async predicate function",
    )
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::{Requirement, SettingTest};

    fn parse(expr: syn::Expr) -> syn::Result<Requirement> {
        Requirement::parse(&expr)
    }

    #[test]
    fn settings_comparisons_and_predicates() {
        let Requirement::Setting {
            fields, test, text, ..
        } = parse(parse_quote!(auth.authenticated)).unwrap()
        else {
            panic!("not a setting");
        };
        assert_eq!(
            (fields.len(), matches!(test, SettingTest::IsTrue)),
            (1, true)
        );
        assert_eq!(text, "auth.authenticated");

        let requirement = parse(parse_quote!(super::auth.login_count >= 3)).unwrap();
        assert_eq!(requirement.text(), "super::auth.login_count >= 3");

        let requirement = parse(parse_quote!(!auth.banned)).unwrap();
        assert_eq!(requirement.text(), "!auth.banned");

        let requirement = parse(parse_quote!(can_edit)).unwrap();
        assert!(matches!(requirement, Requirement::Predicate { .. }));
        assert_eq!(requirement.text(), "can_edit");
    }

    #[test]
    fn other_expressions_are_refused() {
        for expr in [
            parse_quote!(1 + 2),
            parse_quote!(f()),
            parse_quote!("auth.authenticated"),
            parse_quote!(auth.user_id.is_some()),
            parse_quote!(auth.a.b() == 1),
        ] {
            let error = parse(expr).err().expect("refused");
            assert!(
                error.to_string().starts_with("unsupported requirement"),
                "{error}"
            );
        }
    }

    #[test]
    fn joined_requirements_are_refused_with_what_to_write_instead() {
        let error = parse(parse_quote!(auth.a && auth.b))
            .err()
            .expect("refused");
        assert!(error.to_string().contains("list them instead"), "{error}");
        let error = parse(parse_quote!(auth.a || auth.b))
            .err()
            .expect("refused");
        assert!(
            error.to_string().contains("async predicate function"),
            "{error}"
        );
    }
}
