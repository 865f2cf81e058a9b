//! The settings slot: `PluginSettings` for the `#[settings]` struct, and the alias other plugins'
//! requirements reach it through.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::model::Plugin;

pub(crate) fn render(plugin: &Plugin) -> TokenStream {
    let Some(settings) = &plugin.settings else {
        return quote! {
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            pub type __yoctopus_settings = ::yoctopus_core::__private::NoSettings;
        };
    };
    let ident = &settings.ident;
    let plugin_name = &plugin.name;
    let names: Vec<String> = settings
        .fields
        .iter()
        .map(|(field, _)| field.unraw().to_string())
        .collect();
    let reads = settings
        .fields
        .iter()
        .zip(&names)
        .map(|((field, ty), name)| {
            let to_json = quote_spanned! {ty.span()=>
                ::yoctopus_core::__private::setting_to_json::<#ty>(&self.#field)
            };
            quote! { #name => ::core::option::Option::Some(#to_json), }
        });
    let impl_header = quote_spanned! {ident.span()=>
        impl ::yoctopus_core::__private::PluginSettings for #ident
    };
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        pub type __yoctopus_settings = #ident;

        #impl_header {
            const PLUGIN: &'static str = #plugin_name;
            const FIELDS: &'static [&'static str] = &[#(#names),*];

            fn field(&self, name: &str) -> ::core::option::Option<::yoctopus_core::__private::serde_json::Value> {
                match name {
                    #(#reads)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    }
}
