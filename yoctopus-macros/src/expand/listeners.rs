//! Listeners, upgrade checks and provided values: one generated function per `#[on]` and
//! `#[provide]` function, and their tables in the plugin's definition.
//!
//! Each argument is checked, at compile time and at its own type, to be available where it is
//! asked for (a `Closed` only in `connection_closed`, ...); a listener's return type is checked
//! to mean something for its event (only `request_received` may reject, only it and
//! `response_prepared` may return new data).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use super::dispatch::settings_type;
use crate::model::{Listener, ListenerKind, Plugin};

/// What each event is called in the runtime, and which scope bit its arguments need.
fn event_parts(event: &str) -> (TokenStream, TokenStream) {
    match event {
        "connection_opened" => (quote!(ConnectionOpened), quote!(OPENED)),
        "connection_closed" => (quote!(ConnectionClosed), quote!(CLOSED)),
        "request_received" => (quote!(RequestReceived), quote!(REQUEST_RECEIVED)),
        "response_prepared" => (quote!(ResponsePrepared), quote!(RESPONSE_PREPARED)),
        "response_sent" => (quote!(ResponseSent), quote!(RESPONSE_SENT)),
        _ => (quote!(ConnectionChanged), quote!(CONNECTION_CHANGED)),
    }
}

/// A constant assertion, at the argument's type, that it is available in `scope`.
pub(crate) fn scope_check(ty: &syn::Type, scope: TokenStream, message: &str) -> TokenStream {
    quote_spanned! {ty.span()=>
        const _: () = ::core::assert!(
            <#ty as ::yoctopus_core::__private::FromCall>::SCOPE
                & ::yoctopus_core::__private::scope::#scope != 0,
            #message
        );
    }
}

fn listener_ident(prefix: &str, index: usize, listener: &Listener) -> syn::Ident {
    format_ident!(
        "__yoctopus_{}_{}_{}",
        prefix,
        index,
        listener.function.unraw()
    )
}

fn output_type(listener: &Listener) -> TokenStream {
    match &listener.output {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    }
}

/// Where errors about the return type go: the type, or the function's name when it returns `()`.
fn output_span(listener: &Listener) -> proc_macro2::Span {
    listener
        .output
        .as_ref()
        .map_or_else(|| listener.function.span(), Spanned::span)
}

/// The step the listener's return value `__output` means.
fn into_step(span: proc_macro2::Span) -> TokenStream {
    quote_spanned! {span=> ::yoctopus_core::__private::ListenerOutput::into_step(__output) }
}

/// `plugin::function`, as logs and the error hook name a listener.
fn listener_name(plugin: &Plugin, listener: &Listener) -> String {
    format!("{}::{}", plugin.name, listener.function.unraw())
}

/// The extraction of a listener's arguments from `__call`; an argument that cannot be made ends
/// the listener as failed.
fn extractions(
    listener: &Listener,
    skip: Option<usize>,
    optional: bool,
) -> (Vec<TokenStream>, Vec<syn::Ident>) {
    let missing = if optional {
        quote!(::core::option::Option::Some(
            ::yoctopus_core::__private::listener_argument_missing()
        ))
    } else {
        quote!(::yoctopus_core::__private::listener_argument_missing())
    };
    let names: Vec<syn::Ident> = (0..listener.arguments.len())
        .map(|i| format_ident!("__argument_{i}"))
        .collect();
    let extractions = listener
        .arguments
        .iter()
        .zip(&names)
        .enumerate()
        .filter(|(position, _)| Some(*position) != skip)
        .map(|(_, (ty, name))| {
            quote_spanned! {ty.span()=>
                let #name = match <#ty as ::yoctopus_core::__private::FromCall>::from_call(__call) {
                    ::core::result::Result::Ok(argument) => argument,
                    ::core::result::Result::Err(_) => return #missing,
                };
            }
        })
        .collect();
    (extractions, names)
}

/// A listener's arguments that are extractors (all but a setting listener's `Changed<T>`).
pub(crate) fn extractor_arguments(listener: &Listener) -> impl Iterator<Item = &syn::Type> {
    let change = match listener.kind {
        ListenerKind::Setting { .. } => change_argument(listener),
        _ => None,
    };
    listener
        .arguments
        .iter()
        .enumerate()
        .filter(move |(position, _)| Some(*position) != change)
        .map(|(_, ty)| ty)
}

/// The position of a setting listener's `Changed<T>` argument, found by the type's name.
fn change_argument(listener: &Listener) -> Option<usize> {
    listener.arguments.iter().position(|ty| match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Changed"),
        _ => false,
    })
}

pub(crate) fn render(plugin: &Plugin) -> TokenStream {
    let module = &plugin.module.ident;
    let listeners = plugin
        .listeners
        .iter()
        .enumerate()
        .map(|(index, listener)| match &listener.kind {
            ListenerKind::Event(event) => event_listener(index, listener, &event.to_string()),
            ListenerKind::Setting { plugin, field } => {
                setting_listener(module, index, listener, plugin, field)
            }
            ListenerKind::Upgrade => upgrade_check(index, listener),
        });
    let provides = plugin.provides.iter().enumerate().map(|(index, provide)| {
        let ident = format_ident!("__yoctopus_provide_{}_{}", index, provide.function.unraw());
        let function = &provide.function;
        let output = &provide.output;
        quote_spanned! {output.span()=>
            #[doc(hidden)]
            fn #ident() -> ::std::sync::Arc<dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync> {
                ::yoctopus_core::__private::provided::<#output>(#function())
            }
        }
    });
    quote! {
        #(#listeners)*
        #(#provides)*
    }
}

fn event_listener(index: usize, listener: &Listener, event: &str) -> TokenStream {
    let ident = listener_ident("listen", index, listener);
    let (_, scope) = event_parts(event);
    let message = format!(
        "this argument is not available in a `{event}` listener; listeners read a request's data as `Data`, not as a request format, and take `Meta`, `Data`, `Closed` or `ConnectionChanged` only where their event has one"
    );
    let scopes = listener
        .arguments
        .iter()
        .map(|ty| scope_check(ty, scope.clone(), &message));
    let output = output_type(listener);
    let output_span = output_span(listener);
    let transforms_allowed = matches!(event, "request_received" | "response_prepared");
    let rejects_allowed = event == "request_received";
    let transform_message = format!(
        "a `{event}` listener cannot replace data; `Data` is returned only by `request_received` and `response_prepared` listeners"
    );
    let reject_message = format!(
        "a `{event}` listener cannot reject; `Reject` is returned only by `request_received` listeners"
    );
    let output_checks = quote_spanned! {output_span=>
        const _: () = ::core::assert!(
            #transforms_allowed || !<#output as ::yoctopus_core::__private::ListenerOutput>::TRANSFORMS,
            #transform_message
        );
        const _: () = ::core::assert!(
            #rejects_allowed || !<#output as ::yoctopus_core::__private::ListenerOutput>::REJECTS,
            #reject_message
        );
    };
    let (extractions, names) = extractions(listener, None, false);
    let function = &listener.function;
    let step = into_step(output_span);
    quote! {
        #[doc(hidden)]
        fn #ident(
            __call: &mut ::yoctopus_core::__private::Call,
        ) -> ::yoctopus_core::__private::BoxFuture<::yoctopus_core::__private::Step> {
            #(#scopes)*
            #output_checks
            #(#extractions)*
            ::std::boxed::Box::pin(async move {
                let __output = #function(#(#names),*).await;
                #step
            })
        }
    }
}

fn setting_listener(
    module: &syn::Ident,
    index: usize,
    listener: &Listener,
    plugin: &syn::Path,
    field: &syn::Ident,
) -> TokenStream {
    let ident = listener_ident("watch", index, listener);
    let settings = settings_type(module, plugin);
    let message = "this argument is not available in a setting listener; it takes `Changed<T>` and the extractors every listener has";
    let change = change_argument(listener);
    let scopes = listener
        .arguments
        .iter()
        .enumerate()
        .filter(|(position, _)| Some(*position) != change)
        .map(|(_, ty)| scope_check(ty, quote!(SETTING), message));
    let output = output_type(listener);
    let output_span = output_span(listener);
    let output_checks = quote_spanned! {output_span=>
        const _: () = ::core::assert!(
            !<#output as ::yoctopus_core::__private::ListenerOutput>::TRANSFORMS
                && !<#output as ::yoctopus_core::__private::ListenerOutput>::REJECTS,
            "a setting listener returns `()` or `Result<(), E>`"
        );
    };
    let (extractions, names) = extractions(listener, change, true);
    let field_name = field.unraw().to_string();
    let read = quote_spanned! {plugin.span()=>
        let __old = ::yoctopus_core::__private::settings_of::<#settings>(__old)?;
        let __new = ::yoctopus_core::__private::settings_of::<#settings>(__new)?;
    };
    let (old_value, new_value) = (
        quote_spanned! {field.span()=> __old.#field },
        quote_spanned! {field.span()=> __new.#field },
    );
    let change = change.map(|position| {
        let ty = &listener.arguments[position];
        let name = &names[position];
        quote_spanned! {ty.span()=>
            let #name: #ty = ::yoctopus_core::__private::change_of(
                &#new_value,
                &#old_value,
                <#settings as ::yoctopus_core::__private::PluginSettings>::PLUGIN,
                <#settings as ::yoctopus_core::__private::PluginSettings>::wire_name(#field_name),
            );
        }
    });
    let function = &listener.function;
    let step = into_step(output_span);
    quote! {
        #[doc(hidden)]
        fn #ident(
            __call: &mut ::yoctopus_core::__private::Call,
            __old: &dyn ::core::any::Any,
            __new: &dyn ::core::any::Any,
        ) -> ::core::option::Option<::yoctopus_core::__private::BoxFuture<::yoctopus_core::__private::Step>> {
            #(#scopes)*
            #output_checks
            #read
            if ::yoctopus_core::__private::unchanged(&#old_value, &#new_value) {
                return ::core::option::Option::None;
            }
            #change
            #(#extractions)*
            ::core::option::Option::Some(::std::boxed::Box::pin(async move {
                let __output = #function(#(#names),*).await;
                #step
            }))
        }
    }
}

fn upgrade_check(index: usize, listener: &Listener) -> TokenStream {
    let ident = listener_ident("upgrade", index, listener);
    let names: Vec<syn::Ident> = (0..listener.arguments.len())
        .map(|i| format_ident!("__argument_{i}"))
        .collect();
    let extractions = listener.arguments.iter().zip(&names).map(|(ty, name)| {
        quote_spanned! {ty.span()=>
            let #name = match <#ty as ::yoctopus_core::__private::FromUpgrade>::from_upgrade(__call) {
                ::core::result::Result::Ok(argument) => argument,
                ::core::result::Result::Err(refusal) => {
                    return ::std::boxed::Box::pin(async move { ::core::result::Result::Err(refusal) });
                }
            };
        }
    });
    let output_span = output_span(listener);
    let function = &listener.function;
    let verdict = quote_spanned! {output_span=>
        ::yoctopus_core::__private::Admission::into_admission(__output)
    };
    quote! {
        #[doc(hidden)]
        fn #ident(
            __call: &::yoctopus_core::__private::UpgradeCall,
        ) -> ::yoctopus_core::__private::BoxFuture<::yoctopus_core::__private::Verdict> {
            #(#extractions)*
            ::std::boxed::Box::pin(async move {
                let __output = #function(#(#names),*).await;
                #verdict
            })
        }
    }
}

/// The `listeners`, `setting_listeners`, `upgrade_checks` and `provides` fields of the plugin's
/// definition.
pub(crate) fn table(plugin: &Plugin) -> TokenStream {
    let module = &plugin.module.ident;
    let mut events = Vec::new();
    let mut settings = Vec::new();
    let mut upgrades = Vec::new();
    for (index, listener) in plugin.listeners.iter().enumerate() {
        let name = listener_name(plugin, listener);
        match &listener.kind {
            ListenerKind::Event(event) => {
                let ident = listener_ident("listen", index, listener);
                let (event, _) = event_parts(&event.to_string());
                let arguments = &listener.arguments;
                let output = output_type(listener);
                events.push(quote! {
                    ::yoctopus_core::__private::ListenerDef {
                        event: ::yoctopus_core::__private::ListenerEvent::#event,
                        name: #name,
                        run: #ident,
                        reads_data: ::yoctopus_core::__private::any(&[
                            #(<#arguments as ::yoctopus_core::__private::FromCall>::READS_DATA),*
                        ]),
                        transforms: <#output as ::yoctopus_core::__private::ListenerOutput>::TRANSFORMS,
                        reads_meta: ::yoctopus_core::__private::any(&[
                            #(<#arguments as ::yoctopus_core::__private::FromCall>::READS_META),*
                        ]),
                        reads_upgrade: ::yoctopus_core::__private::any(&[
                            #(<#arguments as ::yoctopus_core::__private::FromCall>::KEEPS_UPGRADE),*
                        ]),
                    }
                });
            }
            ListenerKind::Setting { plugin, .. } => {
                let ident = listener_ident("watch", index, listener);
                let settings_ty = settings_type(module, plugin);
                settings.push(quote! {
                    ::yoctopus_core::__private::SettingListenerDef {
                        settings: ::yoctopus_core::__private::SettingsDef::of::<#settings_ty>(),
                        name: #name,
                        run: #ident,
                    }
                });
            }
            ListenerKind::Upgrade => {
                let ident = listener_ident("upgrade", index, listener);
                upgrades.push(quote! {
                    ::yoctopus_core::__private::UpgradeCheckDef { name: #name, run: #ident }
                });
            }
        }
    }
    let provides = plugin.provides.iter().enumerate().map(|(index, provide)| {
        let ident = format_ident!("__yoctopus_provide_{}_{}", index, provide.function.unraw());
        let output = &provide.output;
        quote! {
            ::yoctopus_core::__private::ProvideDef {
                type_id: ::core::any::TypeId::of::<#output>,
                type_name: ::core::any::type_name::<#output>,
                make: #ident,
            }
        }
    });
    quote! {
        listeners: &[#(#events),*],
        setting_listeners: &[#(#settings),*],
        upgrade_checks: &[#(#upgrades),*],
        provides: &[#(#provides),*],
    }
}

/// What listeners need from the server: the settings they listen to, and each argument's need.
pub(crate) fn needs(plugin: &Plugin) -> Vec<TokenStream> {
    let module = &plugin.module.ident;
    let mut needs = Vec::new();
    for listener in &plugin.listeners {
        let change = change_argument(listener);
        if let ListenerKind::Setting { plugin, .. } = &listener.kind {
            let settings = settings_type(module, plugin);
            needs.push(quote! {
                ::yoctopus_core::__private::Need::Settings(::yoctopus_core::__private::SettingsDef::of::<#settings>())
            });
        }
        let upgrade = matches!(listener.kind, ListenerKind::Upgrade);
        for (position, ty) in listener.arguments.iter().enumerate() {
            if upgrade {
                needs.push(quote! { <#ty as ::yoctopus_core::__private::FromUpgrade>::NEED });
            } else if Some(position) != change
                || !matches!(listener.kind, ListenerKind::Setting { .. })
            {
                needs.push(quote! { <#ty as ::yoctopus_core::__private::FromCall>::NEED });
            }
        }
    }
    needs
}
