//! The settings slot: `PluginSettings` for the `#[settings]` struct, and the alias other plugins'
//! requirements reach it through.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::model::Plugin;

pub(crate) fn render(plugin: &Plugin) -> TokenStream {
    let Some(settings) = &plugin.settings else {
        return no_settings(plugin);
    };
    let ident = &settings.ident;
    let plugin_name = &plugin.name;
    let names: Vec<&str> = settings
        .fields
        .iter()
        .map(|field| field.wire_name.as_str())
        .collect();
    let rust_names: Vec<String> = settings
        .fields
        .iter()
        .map(|field| field.ident.unraw().to_string())
        .collect();
    let reads = settings.fields.iter().map(|setting| {
        let (field, ty, name) = (&setting.ident, &setting.ty, &setting.wire_name);
        let to_json = quote_spanned! {ty.span()=>
            ::yoctopus_core::__private::setting::<#ty>(&self.#field).to_json()
        };
        quote! { #name => ::core::option::Option::Some(#to_json), }
    });
    let comparisons = settings.fields.iter().map(|setting| {
        let (field, ty, name) = (&setting.ident, &setting.ty, &setting.wire_name);
        let matches = quote_spanned! {ty.span()=>
            ::yoctopus_core::__private::setting::<#ty>(&self.#field).matches(wanted)
        };
        quote! { #name => ::core::option::Option::Some(#matches), }
    });
    let impl_header = quote_spanned! {ident.span()=>
        impl ::yoctopus_core::__private::PluginSettings for #ident
    };
    // `do_not_recommend`: an error about a struct that is not settings should say how to make it
    // settings, not list every plugin's settings struct (the bundled plugin's included).
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        pub type __yoctopus_settings = #ident;

        #[diagnostic::do_not_recommend]
        #impl_header {
            const PLUGIN: &'static ::core::primitive::str = #plugin_name;
            const FIELDS: &'static [&'static ::core::primitive::str] = &[#(#names),*];
            const RUST_FIELDS: &'static [&'static ::core::primitive::str] = &[#(#rust_names),*];

            fn field(&self, name: &::core::primitive::str) -> ::core::option::Option<::yoctopus_core::__private::serde_json::Value> {
                match name {
                    #(#reads)*
                    _ => ::core::option::Option::None,
                }
            }

            fn field_matches(
                &self,
                name: &::core::primitive::str,
                wanted: &::yoctopus_core::__private::serde_json::Value,
            ) -> ::core::option::Option<::core::primitive::bool> {
                match name {
                    #(#comparisons)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    }
}

/// A plugin without settings still answers `module::__yoctopus_settings`, so that a requirement
/// on it fails with one error that names the plugin: the alias projects `()` through a trait that
/// `()` does not implement, rustc reports that with this message, and the failed projection is an
/// error type that silences the follow-on errors (the missing field, the missing `PluginSettings`).
/// The one implementation exists only so that rustc does not suggest adding one.
fn no_settings(plugin: &Plugin) -> TokenStream {
    let module = plugin.module.ident.unraw().to_string();
    let message = format!("the `{module}` plugin declares no settings");
    let label = format!("`{module}` has no `#[settings]` struct");
    let note = format!(
        "add a `#[settings]` struct to the `{module}` plugin, or require a setting of another plugin"
    );
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #[diagnostic::on_unimplemented(message = #message, label = #label, note = #note)]
        pub trait __yoctopus_no_settings {
            type Settings;
        }

        #[diagnostic::do_not_recommend]
        impl __yoctopus_no_settings for ::core::convert::Infallible {
            type Settings = ::core::convert::Infallible;
        }

        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        pub type __yoctopus_settings = <() as __yoctopus_no_settings>::Settings;
    }
}
