//! Parsing of attribute arguments: syntax only. Each accepted key is named once, as a constant,
//! so error messages and parsers cannot drift apart.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::{Expr, LitStr, Token};

pub(crate) const PLUGIN_KEYS: &[&str] = &["name"];
pub(crate) const ENDPOINT_KEYS: &[&str] = &["name", "method", "requires"];
pub(crate) const FORMAT_CONTAINER_KEYS: &[&str] = &["rename_all"];
pub(crate) const FORMAT_FIELD_KEYS: &[&str] = &["rename", "with"];
pub(crate) const FORMAT_VARIANT_KEYS: &[&str] = &["rename"];

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
                set_once(&mut parsed.name, &meta, meta.value()?.parse()?)
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
    pub(crate) fn parse(attr: &syn::Attribute) -> syn::Result<Self> {
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
            if meta.path.is_ident("name") {
                set_once(&mut parsed.name, &meta, meta.value()?.parse()?)
            } else if meta.path.is_ident("method") {
                set_once(&mut parsed.method, &meta, meta.value()?.parse()?)
            } else if meta.path.is_ident("requires") {
                if meta.input.peek(Token![=]) {
                    parsed.requires.push(meta.value()?.parse()?);
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

/// `#[format(...)]` on a request type, a field or a variant; which keys are allowed depends on where.
#[derive(Default)]
pub(crate) struct FormatArgs {
    pub(crate) rename_all: Option<LitStr>,
    pub(crate) rename: Option<LitStr>,
    pub(crate) with: Option<syn::Path>,
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
                    "rename_all" => set_once(&mut parsed.rename_all, &meta, meta.value()?.parse()?),
                    "rename" => set_once(&mut parsed.rename, &meta, meta.value()?.parse()?),
                    _ => set_once(&mut parsed.with, &meta, meta.value()?.parse()?),
                }
            })?;
        }
        Ok(parsed)
    }
}

fn set_once<T>(slot: &mut Option<T>, meta: &ParseNestedMeta<'_>, value: T) -> syn::Result<()> {
    if slot.is_some() {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(meta.error(format!("`{key}` is given twice")));
    }
    *slot = Some(value);
    Ok(())
}

fn unknown_key(meta: &ParseNestedMeta<'_>, attribute: &str, expected: &[&str]) -> syn::Error {
    let key = meta
        .path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::");
    let expected = expected
        .iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ");
    syn::Error::new_spanned(
        &meta.path,
        format!("unknown `{attribute}` argument `{key}`; expected one of {expected}"),
    )
}
