//! `#[yoctopus_core::main]`: an `async fn main` run on the runtime `yoctopus_core::runtime::build`
//! makes, as `#[tokio::main]` runs one on tokio's default.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::spanned::Spanned;

/// Renders the function, or its errors (at the arguments, the missing `async`, the parameters or
/// the generics) with an empty function of the same name in its place, so that nothing else is
/// reported about it.
pub(crate) fn render(args: TokenStream, item: TokenStream) -> TokenStream {
    let function: syn::ItemFn = match syn::parse2(item) {
        Ok(function) => function,
        Err(error) => return error.to_compile_error(),
    };
    let mut errors = Vec::new();
    if !args.is_empty() {
        errors.push(syn::Error::new(
            args.span(),
            "`#[yoctopus_core::main]` takes no arguments: the runtime is chosen by \
             `yoctopus_core::runtime::build`; build one yourself to configure it",
        ));
    }
    let signature = &function.sig;
    if signature.asyncness.is_none() {
        errors.push(syn::Error::new(
            signature.fn_token.span(),
            "`#[yoctopus_core::main]` goes on an `async fn`",
        ));
    }
    if !signature.inputs.is_empty() {
        errors.push(syn::Error::new(
            signature.inputs.span(),
            "`#[yoctopus_core::main]` functions take no parameters",
        ));
    }
    if !signature.generics.params.is_empty() || signature.generics.where_clause.is_some() {
        errors.push(syn::Error::new(
            signature.generics.span(),
            "`#[yoctopus_core::main]` functions cannot be generic",
        ));
    }
    let name = &signature.ident;
    if !errors.is_empty() {
        let errors = errors.iter().map(syn::Error::to_compile_error);
        return quote! { #(#errors)* fn #name() {} };
    }
    let attributes = &function.attrs;
    let visibility = &function.vis;
    let output = &signature.output;
    let body = function.block.to_token_stream();
    quote! {
        #(#attributes)*
        #visibility fn #name() #output {
            ::yoctopus_core::__private::build_runtime()
                .expect("the tokio runtime of #[yoctopus_core::main] could not be built")
                .block_on(async move #body)
        }
    }
}
