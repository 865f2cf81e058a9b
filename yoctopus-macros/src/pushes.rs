//! `#[push("type")]` on a struct or enum of a plugin: a push the plugin sends, declared so that
//! the API description lists it with its JSON Schema and senders name it by type, not by string.

use syn::spanned::Spanned;
use syn::{Ident, Item, LitStr};

use crate::errors::Errors;

/// A declared push.
pub(crate) struct PushDecl {
    pub(crate) ident: Ident,
    /// The push's `meta.type`.
    pub(crate) kind: LitStr,
    /// Its doc comment, for the API description.
    pub(crate) doc: String,
}

impl PushDecl {
    pub(crate) fn build(attr: &syn::Attribute, item: &Item) -> syn::Result<Self> {
        let (ident, generics, attrs) = match item {
            Item::Struct(item) => (&item.ident, &item.generics, &item.attrs),
            Item::Enum(item) => (&item.ident, &item.generics, &item.attrs),
            other => {
                return Err(syn::Error::new_spanned(
                    attr.path(),
                    format!(
                        "`#[push]` goes on the struct or enum a push carries, not on {}",
                        crate::model::describe(other)
                    ),
                ))
            }
        };
        let usage = "`#[push]` needs the push's type, the `meta.type` clients switch on: `#[push(\"joined\")]`";
        let kind: LitStr = match &attr.meta {
            syn::Meta::List(list) => list
                .parse_args()
                .map_err(|error| syn::Error::new(error.span(), usage))?,
            other => return Err(syn::Error::new_spanned(other, usage)),
        };
        let value = kind.value();
        if value.is_empty() || value.contains(char::is_whitespace) {
            return Err(syn::Error::new(
                kind.span(),
                "a push's type cannot be empty or contain white space",
            ));
        }
        if !generics.params.is_empty() {
            return Err(syn::Error::new(
                generics.span(),
                "a `#[push]` type cannot be generic: its schema is part of the API",
            ));
        }
        Ok(Self {
            ident: ident.clone(),
            kind,
            doc: doc_of(attrs),
        })
    }
}

/// Each push type is declared once in a plugin.
pub(crate) fn unique_pushes(pushes: &[PushDecl]) -> syn::Result<()> {
    let mut errors = Errors::default();
    for (index, push) in pushes.iter().enumerate() {
        if let Some(first) = pushes[..index]
            .iter()
            .find(|earlier| earlier.kind.value() == push.kind.value())
        {
            errors.push(syn::Error::new(
                push.kind.span(),
                format!(
                    "push type `{}` is declared twice; each push type has one payload",
                    push.kind.value()
                ),
            ));
            errors.push(syn::Error::new(first.kind.span(), "first declared here"));
        }
    }
    errors.finish()
}

/// The text of an item's doc comments, lines joined, for the API description.
pub(crate) fn doc_of(attrs: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }),
                ..
            }) => Some(text.value()),
            _ => None,
        })
        .map(|line| line.strip_prefix(' ').unwrap_or(&line).to_owned())
        .collect();
    lines.join("\n").trim().to_owned()
}
