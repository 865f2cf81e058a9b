//! `filter!`: a settings filter written like requirements and checked by the compiler, built into
//! the same [`SettingsFilter`] the JSON form makes.
//!
//! Each condition names a setting through the plugin's module (so a misspelled plugin or setting
//! does not build) and compares it with `==` to a value of its type (so a wrong type does not
//! build). The value is serialized as the setting would be, so the filter matches exactly the
//! connections whose setting equals it.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{BinOp, Expr, Token};

use crate::errors::Errors;
use crate::requires::{Requirement, SettingTest};

pub(crate) fn filter(input: TokenStream) -> TokenStream {
    match Punctuated::<Expr, Token![,]>::parse_terminated
        .parse2(input)
        .and_then(|conditions| render(&conditions))
    {
        Ok(tokens) => tokens,
        Err(errors) => {
            let errors = errors.to_compile_error();
            quote! {{ #errors ::yoctopus_core::SettingsFilter::all() }}
        }
    }
}

fn render(conditions: &Punctuated<Expr, Token![,]>) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    let mut parts = Vec::new();
    for condition in conditions {
        match Requirement::parse(condition).and_then(|requirement| part(condition, requirement)) {
            Ok(part) => parts.push(part),
            Err(error) => errors.push(error),
        }
    }
    errors.finish()?;
    Ok(quote! {{
        let __filter = ::yoctopus_core::SettingsFilter::all();
        #(let __filter = #parts;)*
        __filter
    }})
}

const ONLY_EQUALITY: &str = "a filter matches settings by equality; write `plugin.setting == value`, `plugin.setting` (a `bool` that is true) or `!plugin.setting`";

/// One condition: the check that the setting exists and compares with the value, and the filter
/// with it added.
fn part(condition: &Expr, requirement: Requirement) -> syn::Result<TokenStream> {
    let Requirement::Setting {
        plugin,
        fields,
        test,
        ..
    } = requirement
    else {
        return Err(syn::Error::new_spanned(
            condition,
            "a filter condition names a setting, `plugin.setting == value`; predicate functions cannot filter connections on other servers",
        ));
    };
    let settings = quote_spanned! {plugin.span()=> #plugin::__yoctopus_settings };
    let last = fields
        .last()
        .map_or_else(proc_macro2::Span::call_site, Spanned::span);
    let field = quote_spanned! {last=> __settings #(.#fields)* };
    let (value, check) = match test {
        SettingTest::IsTrue | SettingTest::IsFalse => {
            let set = matches!(test, SettingTest::IsTrue);
            (
                quote!(#set),
                quote_spanned! {last=> ::yoctopus_core::__private::Flag::is_set(&#field) },
            )
        }
        SettingTest::Compare(BinOp::Eq(_), expected) => {
            let span = expected.span();
            (
                quote!(#expected),
                quote_spanned! {span=> ::yoctopus_core::__private::setting_eq(&__value, &#field) },
            )
        }
        SettingTest::Compare(op, _) => {
            return Err(syn::Error::new_spanned(op.to_token_stream(), ONLY_EQUALITY))
        }
    };
    let names: Vec<String> = fields
        .iter()
        .map(|field| field.to_token_stream().to_string())
        .collect();
    let (setting, inner) = names.split_first().expect("a setting has a field");
    Ok(quote! {{
        let __value = #value;
        // Never called: it makes the compiler check the setting and the value's type.
        let _ = |__settings: &#settings| #check;
        __filter.with(
            <#settings as ::yoctopus_core::__private::PluginSettings>::PLUGIN,
            <#settings as ::yoctopus_core::__private::PluginSettings>::wire_name(#setting),
            ::yoctopus_core::__private::filter_value(&[#(#inner),*], &__value),
        )
    }})
}
