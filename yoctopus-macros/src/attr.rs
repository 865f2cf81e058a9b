//! Parsing of attribute arguments: syntax only. Each accepted key is named once, as a constant,
//! so error messages and parsers cannot drift apart.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{Expr, LitStr, Token};

pub(crate) const PLUGIN_KEYS: &[&str] = &["name"];
pub(crate) const ENDPOINT_KEYS: &[&str] = &["name", "method", "requires"];
pub(crate) const BINARY_KEYS: &[&str] = &["requires"];
pub(crate) const FORMAT_CONTAINER_KEYS: &[&str] = &["rename_all", "deny_unknown_keys"];
pub(crate) const FORMAT_FIELD_KEYS: &[&str] = &["rename", "with"];
pub(crate) const FORMAT_VARIANT_KEYS: &[&str] = &["rename"];
pub(crate) const SETTINGS_CONTAINER_KEYS: &[&str] = &["rename_all"];
pub(crate) const SETTINGS_FIELD_KEYS: &[&str] = &["rename"];
/// The events `#[on(...)]` accepts, besides a setting.
pub(crate) const EVENTS: &[&str] = &[
    "upgrade",
    "connection_opened",
    "connection_closed",
    "request_received",
    "response_prepared",
    "response_sent",
    "connection_changed",
];

/// `#[plugin(name = "...")]`.
#[derive(Default)]
pub(crate) struct PluginArgs {
    pub(crate) name: Option<LitStr>,
}

impl PluginArgs {
    pub(crate) fn parse(args: proc_macro2::TokenStream) -> syn::Result<Self> {
        let mut parsed = Self::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("name") {
                set_once(&mut parsed.name, &meta, string(&meta, "chat")?)
            } else {
                Err(unknown_key(&meta, "#[plugin]", PLUGIN_KEYS))
            }
        });
        syn::parse::Parser::parse2(parser, args)?;
        Ok(parsed)
    }
}

/// `#[endpoint(name = "...", method = "...", requires(...))]`.
pub(crate) struct EndpointArgs {
    /// Where the attribute stands, for errors about what it lacks.
    pub(crate) span: Span,
    pub(crate) name: Option<LitStr>,
    pub(crate) method: Option<LitStr>,
    pub(crate) requires: Vec<Expr>,
}

impl EndpointArgs {
    /// Reads `#[endpoint(...)]`, or `#[binary(...)]` when `binary` (which takes only `requires`).
    pub(crate) fn parse(attr: &syn::Attribute, binary: bool) -> syn::Result<Self> {
        let (attribute, keys) = if binary {
            ("#[binary]", BINARY_KEYS)
        } else {
            ("#[endpoint]", ENDPOINT_KEYS)
        };
        let mut parsed = Self {
            span: attr
                .path()
                .get_ident()
                .map_or_else(Span::call_site, syn::Ident::span),
            name: None,
            method: None,
            requires: Vec::new(),
        };
        if matches!(attr.meta, syn::Meta::Path(_)) {
            return Ok(parsed);
        }
        attr.parse_nested_meta(|meta| {
            if !keys.iter().any(|key| meta.path.is_ident(key)) {
                return Err(unknown_key(&meta, attribute, keys));
            }
            if meta.path.is_ident("name") {
                set_once(&mut parsed.name, &meta, string(&meta, "message")?)
            } else if meta.path.is_ident("method") {
                set_once(&mut parsed.method, &meta, string(&meta, "read")?)
            } else if meta.path.is_ident("requires") {
                if meta.input.peek(Token![=]) {
                    parsed.requires.push(meta.value()?.parse()?);
                } else if !meta.input.peek(syn::token::Paren) {
                    return Err(syn::Error::new_spanned(
                        &meta.path,
                        "`requires` takes a list, `requires(auth.authenticated, can_edit)`, or one requirement, `requires = auth.authenticated`",
                    ));
                } else {
                    let list;
                    syn::parenthesized!(list in meta.input);
                    parsed
                        .requires
                        .extend(Punctuated::<Expr, Token![,]>::parse_terminated(&list)?);
                }
                Ok(())
            } else {
                Err(unknown_key(&meta, "#[endpoint]", ENDPOINT_KEYS))
            }
        })?;
        Ok(parsed)
    }
}

/// `#[settings(...)]` on the settings struct or one of its fields.
#[derive(Default)]
pub(crate) struct SettingsArgs {
    pub(crate) rename_all: Option<LitStr>,
    pub(crate) rename: Option<LitStr>,
}

impl SettingsArgs {
    /// Reads `attr` (a `#[settings]` or `#[settings(...)]`), allowing the keys in `allowed`.
    pub(crate) fn parse(attr: &syn::Attribute, allowed: &[&str]) -> syn::Result<Self> {
        let mut parsed = Self::default();
        match &attr.meta {
            syn::Meta::Path(_) => return Ok(parsed),
            syn::Meta::NameValue(name_value) => {
                return Err(syn::Error::new_spanned(
                    &name_value.value,
                    "`#[settings]` takes a list of arguments, e.g. `#[settings(rename_all = \"camelCase\")]`",
                ))
            }
            syn::Meta::List(list) if list.tokens.is_empty() => return Ok(parsed),
            syn::Meta::List(_) => {}
        }
        attr.parse_nested_meta(|meta| {
            let key = key_text(&meta.path);
            if !allowed.contains(&key.as_str()) {
                return Err(unknown_key(&meta, "#[settings]", allowed));
            }
            match key.as_str() {
                "rename_all" => {
                    set_once(&mut parsed.rename_all, &meta, string(&meta, "camelCase")?)
                }
                _ => set_once(&mut parsed.rename, &meta, string(&meta, "isAdmin")?),
            }
        })?;
        Ok(parsed)
    }
}

/// What `#[on(...)]` listens to: a lifecycle event by name, or a setting.
pub(crate) enum ListenTo {
    Event(syn::Ident),
    Setting(Expr),
}

impl ListenTo {
    pub(crate) fn parse(attr: &syn::Attribute) -> syn::Result<Self> {
        let expected = || {
            let events: Vec<String> = EVENTS.iter().map(|event| format!("`{event}`")).collect();
            format!(
                "expected an event, one of {}, or a setting, `plugin.setting`",
                events.join(", ")
            )
        };
        let list = match &attr.meta {
            syn::Meta::List(list) if !list.tokens.is_empty() => list,
            _ => {
                return Err(syn::Error::new_spanned(
                    attr.path(),
                    format!("`#[on]` needs what it listens to: {}", expected()),
                ))
            }
        };
        let expr: Expr = syn::parse2(list.tokens.clone())
            .map_err(|error| syn::Error::new(error.span(), expected()))?;
        match expr {
            Expr::Path(path) if path.path.get_ident().is_some() => {
                let ident = path.path.get_ident().expect("checked above").clone();
                if EVENTS.contains(&ident.to_string().as_str()) {
                    Ok(Self::Event(ident))
                } else {
                    Err(syn::Error::new(
                        ident.span(),
                        format!("unknown listener event `{ident}`; {}", expected()),
                    ))
                }
            }
            Expr::Field(_) => Ok(Self::Setting(expr)),
            other => Err(syn::Error::new_spanned(other, expected())),
        }
    }
}

/// `#[format(...)]` on a request type, a field or a variant; which keys are allowed depends on where.
#[derive(Default)]
pub(crate) struct FormatArgs {
    pub(crate) rename_all: Option<LitStr>,
    pub(crate) rename: Option<LitStr>,
    pub(crate) with: Option<syn::Path>,
    /// `deny_unknown_keys`: an object with keys the format does not declare is refused.
    pub(crate) deny_unknown_keys: Option<syn::Path>,
}

impl FormatArgs {
    pub(crate) fn parse(attrs: &[syn::Attribute], allowed: &[&str]) -> syn::Result<Self> {
        let mut parsed = Self::default();
        for attr in attrs.iter().filter(|attr| attr.path().is_ident("format")) {
            attr.parse_nested_meta(|meta| {
                let key = meta
                    .path
                    .get_ident()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                if !allowed.contains(&key.as_str()) {
                    return Err(unknown_key(&meta, "#[format]", allowed));
                }
                match key.as_str() {
                    "rename_all" => {
                        set_once(&mut parsed.rename_all, &meta, string(&meta, "camelCase")?)
                    }
                    "rename" => set_once(&mut parsed.rename, &meta, string(&meta, "userName")?),
                    "deny_unknown_keys" => {
                        if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                            return Err(syn::Error::new_spanned(
                                &meta.path,
                                "`deny_unknown_keys` takes no value; write `#[format(deny_unknown_keys)]`",
                            ));
                        }
                        set_once(&mut parsed.deny_unknown_keys, &meta, meta.path.clone())
                    }
                    _ => set_once(&mut parsed.with, &meta, function(&meta)?),
                }
            })?;
        }
        Ok(parsed)
    }
}

/// Stores the value of a key that may appear once; a repeat is reported on its key.
fn set_once<T>(slot: &mut Option<T>, meta: &ParseNestedMeta<'_>, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new_spanned(
            &meta.path,
            format!("`{}` is given twice; keep one", key_text(&meta.path)),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// The value of `key = "..."`; anything but a string literal is reported on the value, with an
/// `example` of a right one.
fn string(meta: &ParseNestedMeta<'_>, example: &str) -> syn::Result<LitStr> {
    match meta.value()?.parse::<Expr>()? {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(literal),
            ..
        }) => Ok(literal),
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "`{key}` takes a string literal, e.g. `{key} = \"{example}\"`",
                key = key_text(&meta.path)
            ),
        )),
    }
}

/// The value of `with = function`: a path to a function, not a string as in serde's `with`.
fn function(meta: &ParseNestedMeta<'_>) -> syn::Result<syn::Path> {
    match meta.value()?.parse::<Expr>()? {
        Expr::Path(path) if path.qself.is_none() && path.attrs.is_empty() => Ok(path.path),
        other => Err(syn::Error::new_spanned(
            other,
            "`with` takes the path of a validator function, unquoted, e.g. `with = not_blank`",
        )),
    }
}

fn key_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

fn unknown_key(meta: &ParseNestedMeta<'_>, attribute: &str, expected: &[&str]) -> syn::Error {
    let key = key_text(&meta.path);
    let quoted: Vec<String> = expected.iter().map(|key| format!("`{key}`")).collect();
    let expected = match quoted.as_slice() {
        [only] => only.clone(),
        _ => format!("one of {}", quoted.join(", ")),
    };
    syn::Error::new_spanned(
        &meta.path,
        format!("unknown `{attribute}` argument `{key}`; expected {expected}"),
    )
}
