//! Declared pushes: `PushMessage` for each `#[push]` type, and the plugin's table of them.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::model::Plugin;

/// `impl PushMessage` for every declared push.
pub(crate) fn render(plugin: &Plugin) -> TokenStream {
    let impls = plugin.pushes.iter().map(|push| {
        let ident = &push.ident;
        let kind = &push.kind;
        quote! {
            impl ::yoctopus_core::PushMessage for #ident {
                const TYPE: &'static ::core::primitive::str = #kind;
            }
        }
    });
    quote! { #(#impls)* }
}

/// The `pushes` field of the plugin's definition.
pub(crate) fn table(plugin: &Plugin) -> TokenStream {
    let defs = plugin.pushes.iter().map(|push| {
        let ident = &push.ident;
        let kind = &push.kind;
        let doc = &push.doc;
        // Spanned at the type, so that one without a JSON Schema is reported there.
        let schema =
            quote_spanned! {ident.span()=> ::yoctopus_core::__private::response_schema::<#ident> };
        quote! {
            ::yoctopus_core::__private::PushDef {
                kind: #kind,
                description: #doc,
                schema: #schema,
            }
        }
    });
    quote! { pushes: &[#(#defs),*], }
}
