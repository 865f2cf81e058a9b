//! Rendering: one file per output. Rendering reads only the model and cannot fail.

mod dispatch;
mod filter;
mod listeners;
mod pushes;
mod request_format;
mod settings;

pub(crate) use filter::filter;
pub(crate) use request_format::derive_request_format;

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{self, Plugin};

/// The plugin module with its generated items appended.
pub(crate) fn render(plugin: &Plugin) -> TokenStream {
    let module = &plugin.module;
    let attrs = &module.attrs;
    let vis = &module.vis;
    let unsafety = &module.unsafety;
    let ident = &module.ident;
    let items = &module
        .content
        .as_ref()
        .expect("the model holds inline modules only")
        .1;
    let settings = settings::render(plugin);
    let dispatch = dispatch::render(plugin);
    let pushes = pushes::render(plugin);
    let plugin_doc = format!(
        " The `{}` plugin, ready for `ServerBuilder::plugin`.",
        plugin.name
    );
    quote! {
        #(#attrs)*
        #vis #unsafety mod #ident {
            #(#items)*

            #settings
            #dispatch
            #pushes

            #[doc = #plugin_doc]
            pub fn plugin() -> ::yoctopus_core::Plugin {
                ::yoctopus_core::Plugin::new(&__yoctopus_plugin_def)
            }
        }
    }
}

/// After an error: the module as written, without our attributes, plus the errors. Keeping the
/// user's items means the rest of the crate still resolves them and shows no follow-on errors.
/// An out-of-line `mod name;` becomes an empty inline module: emitted as written, rustc would
/// compile its file as an ordinary module and report each `#[endpoint]` in it as misplaced.
pub(crate) fn fallback(item: TokenStream, errors: &syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    match syn::parse2::<syn::ItemMod>(item.clone()) {
        Ok(mut module) => {
            model::strip_our_attributes(&mut module);
            if module.content.is_none() {
                module.content = Some((syn::token::Brace::default(), Vec::new()));
                module.semi = None;
            }
            quote! { #module #errors }
        }
        Err(_) => quote! { #item #errors },
    }
}
