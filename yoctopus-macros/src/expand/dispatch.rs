//! The dispatch table: one handler function per endpoint method, the router `match`, and the
//! plugin's static definition.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::model::{Endpoint, Output, Plugin};
use crate::requires::{Requirement, SettingTest};

pub(crate) fn render(plugin: &Plugin) -> TokenStream {
    let module = &plugin.module.ident;
    let handlers = plugin
        .endpoints
        .iter()
        .enumerate()
        .map(|(index, endpoint)| handler(module, index, endpoint, false));
    // The binary handler is rendered as one more endpoint, numbered after the others.
    let binary_index = plugin.endpoints.len();
    let binary_handler = plugin
        .binary
        .as_ref()
        .map(|binary| handler(module, binary_index, binary, true));
    let binary = match &plugin.binary {
        Some(binary) => {
            let ident = handler_ident(binary_index, binary);
            quote! { ::core::option::Option::Some(#ident) }
        }
        None => quote! { ::core::option::Option::None },
    };
    let groups = group_by_name(&plugin.endpoints);
    let table = groups.iter().map(|(name, methods)| {
        let methods = methods
            .iter()
            .map(|(index, endpoint)| method_def(*index, endpoint));
        quote! {
            ::yoctopus_core::__private::EndpointDef { name: #name, methods: &[#(#methods),*] }
        }
    });
    let route_arms =
        groups
            .iter()
            .enumerate()
            .map(|(endpoint_index, (name, methods))| {
                let method_arms = methods.iter().enumerate().map(|(method_index, (_, endpoint))| {
            let method = &endpoint.method;
            quote! {
                #method => ::yoctopus_core::__private::Route::Found(
                    &__yoctopus_plugin_def.endpoints[#endpoint_index].methods[#method_index]
                ),
            }
        });
                quote! {
                    #name => match method {
                        #(#method_arms)*
                        _ => ::yoctopus_core::__private::Route::UnknownMethod,
                    },
                }
            });
    let needs = plugin
        .endpoints
        .iter()
        .chain(&plugin.binary)
        .flat_map(|endpoint| needs(module, endpoint))
        .chain(super::listeners::needs(plugin));
    let requirement_texts = plugin
        .endpoints
        .iter()
        .chain(&plugin.binary)
        .enumerate()
        .flat_map(|(index, endpoint)| requirement_texts(module, index, endpoint));
    let listeners = super::listeners::render(plugin);
    let keeps_upgrade = keeps_upgrade(plugin);
    let listener_table = super::listeners::table(plugin);
    let push_table = super::pushes::table(plugin);
    let name = &plugin.name;
    let settings = match &plugin.settings {
        Some(settings) => {
            let ident = &settings.ident;
            quote! { ::core::option::Option::Some(::yoctopus_core::__private::SettingsDef::of::<#ident>()) }
        }
        None => quote! { ::core::option::Option::None },
    };
    quote! {
        #(#handlers)*
        #binary_handler
        #(#requirement_texts)*
        #listeners

        #[doc(hidden)]
        fn __yoctopus_route(
            endpoint: &::core::primitive::str,
            method: &::core::primitive::str,
        ) -> ::yoctopus_core::__private::Route {
            match endpoint {
                #(#route_arms)*
                _ => ::yoctopus_core::__private::Route::UnknownEndpoint,
            }
        }

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        pub static __yoctopus_plugin_def: ::yoctopus_core::PluginDef = ::yoctopus_core::PluginDef {
            name: #name,
            settings: #settings,
            endpoints: &[#(#table),*],
            route: __yoctopus_route,
            needs: &[#(#needs),*],
            binary: #binary,
            keeps_upgrade_request: #keeps_upgrade,
            #listener_table
            #push_table
        };
    }
}

/// Whether a function that runs after `connection_opened` takes the upgrade request: endpoints,
/// the binary handler and listeners other than `connection_opened` and upgrade checks (which get
/// it anyway).
fn keeps_upgrade(plugin: &Plugin) -> TokenStream {
    let endpoint_arguments = plugin
        .endpoints
        .iter()
        .chain(&plugin.binary)
        .flat_map(|endpoint| &endpoint.arguments);
    let listener_arguments = plugin
        .listeners
        .iter()
        .filter(|listener| match &listener.kind {
            crate::model::ListenerKind::Event(event) => event != "connection_opened",
            crate::model::ListenerKind::Setting { .. } => true,
            crate::model::ListenerKind::Upgrade => false,
        })
        .flat_map(super::listeners::extractor_arguments);
    let flags = endpoint_arguments
        .chain(listener_arguments)
        .map(|ty| quote! { <#ty as ::yoctopus_core::__private::FromCall>::KEEPS_UPGRADE });
    quote! { ::yoctopus_core::__private::any(&[#(#flags),*]) }
}

/// Endpoints in order of first appearance, each with its methods.
fn group_by_name(endpoints: &[Endpoint]) -> Vec<(&str, Vec<(usize, &Endpoint)>)> {
    let mut groups: Vec<(&str, Vec<(usize, &Endpoint)>)> = Vec::new();
    for (index, endpoint) in endpoints.iter().enumerate() {
        match groups.iter_mut().find(|(name, _)| *name == endpoint.name) {
            Some((_, methods)) => methods.push((index, endpoint)),
            None => groups.push((&endpoint.name, vec![(index, endpoint)])),
        }
    }
    groups
}

fn handler_ident(index: usize, endpoint: &Endpoint) -> syn::Ident {
    format_ident!("__yoctopus_handle_{}_{}", index, endpoint.function.unraw())
}

fn requirement_text_ident(index: usize, requirement: usize) -> syn::Ident {
    format_ident!("__yoctopus_requirement_{}_{}", index, requirement)
}

/// One function per requirement that names it as clients know it: `auth.authenticated`, with
/// the plugin's name and the setting's wire name (never a Rust path such as `self` or
/// `super::auth`).
fn requirement_texts(module: &syn::Ident, index: usize, endpoint: &Endpoint) -> Vec<TokenStream> {
    endpoint
        .requires
        .iter()
        .enumerate()
        .map(|(position, requirement)| {
            let ident = requirement_text_ident(index, position);
            let body = match requirement {
                Requirement::Setting {
                    plugin,
                    fields,
                    test,
                    ..
                } => {
                    let settings = settings_type(module, plugin);
                    let names: Vec<String> = fields
                        .iter()
                        .map(|field| field.to_token_stream().to_string())
                        .collect();
                    let (first, rest) = names.split_first().expect("a setting has a field");
                    let (negated, suffix) = match test {
                        SettingTest::IsTrue => (false, String::new()),
                        SettingTest::IsFalse => (true, String::new()),
                        SettingTest::Compare(op, value) => (
                            false,
                            format!(" {} {}", op.to_token_stream(), value.to_token_stream()),
                        ),
                    };
                    quote! {
                        ::yoctopus_core::__private::setting_requirement::<#settings>(
                            #negated, #first, &[#(#rest),*], #suffix,
                        )
                    }
                }
                Requirement::Predicate { text, .. } => {
                    quote! { ::std::string::String::from(#text) }
                }
            };
            quote! {
                #[doc(hidden)]
                fn #ident() -> ::std::string::String {
                    #body
                }
            }
        })
        .collect()
}

fn method_def(index: usize, endpoint: &Endpoint) -> TokenStream {
    let method = &endpoint.method;
    let handler = handler_ident(index, endpoint);
    let requirements =
        (0..endpoint.requires.len()).map(|position| requirement_text_ident(index, position));
    let arguments = &endpoint.arguments;
    let response = response_schema(&endpoint.output);
    let description = &endpoint.doc;
    quote! {
        ::yoctopus_core::__private::MethodDef {
            method: #method,
            description: #description,
            handler: #handler,
            response: #response,
            requirements: &[#(#requirements),*],
            format: ::yoctopus_core::__private::first_some(&[
                #(<#arguments as ::yoctopus_core::__private::FromCall>::FORMAT),*
            ]),
            schema: ::yoctopus_core::__private::first_some(&[
                #(<#arguments as ::yoctopus_core::__private::FromCall>::SCHEMA),*
            ]),
            read: ::yoctopus_core::__private::first_some(&[
                #(<#arguments as ::yoctopus_core::__private::FromCall>::READ),*
            ]),
            reads_meta: ::yoctopus_core::__private::any(&[
                #(<#arguments as ::yoctopus_core::__private::FromCall>::READS_META),*
            ]),
        }
    }
}

/// What the server must provide: the settings each requirement reads, and each argument's need.
fn needs(module: &syn::Ident, endpoint: &Endpoint) -> Vec<TokenStream> {
    let settings = endpoint.requires.iter().filter_map(|requirement| match requirement {
        Requirement::Setting { plugin, .. } => {
            let settings = settings_type(module, plugin);
            Some(quote! {
                ::yoctopus_core::__private::Need::Settings(::yoctopus_core::__private::SettingsDef::of::<#settings>())
            })
        }
        Requirement::Predicate { .. } => None,
    });
    let arguments = endpoint.arguments.iter().map(|ty| {
        quote! { <#ty as ::yoctopus_core::__private::FromCall>::NEED }
    });
    settings.chain(arguments).collect()
}

/// The settings type behind a requirement's plugin path: `self` and the plugin's own module name
/// mean this plugin.
pub(crate) fn settings_type(module: &syn::Ident, plugin: &syn::Path) -> TokenStream {
    let is_self =
        plugin.is_ident("self") || plugin.get_ident().is_some_and(|ident| ident == module);
    let span = plugin.span();
    if is_self {
        quote_spanned! {span=> self::__yoctopus_settings }
    } else {
        quote_spanned! {span=> #plugin::__yoctopus_settings }
    }
}

fn handler(module: &syn::Ident, index: usize, endpoint: &Endpoint, binary: bool) -> TokenStream {
    let ident = handler_ident(index, endpoint);
    let checks = endpoint
        .requires
        .iter()
        .enumerate()
        .map(|(position, requirement)| {
            requirement_check(
                module,
                requirement,
                &requirement_text_ident(index, position),
            )
        });
    let scopes = endpoint.arguments.iter().map(|ty| {
        if binary {
            super::listeners::scope_check(
                ty,
                quote!(BINARY),
                "this argument is not available in a binary handler; it takes `Bytes` and the extractors of its connection",
            )
        } else {
            super::listeners::scope_check(
                ty,
                quote!(ENDPOINT),
                "this argument is not available in an endpoint handler; `Data`, `Closed`, `ConnectionChanged` and `Bytes` are for listeners and binary handlers",
            )
        }
    });
    let argument_names: Vec<syn::Ident> = (0..endpoint.arguments.len())
        .map(|i| format_ident!("__argument_{i}"))
        .collect();
    let extractions = endpoint.arguments.iter().zip(&argument_names).map(|(ty, name)| {
        quote_spanned! {ty.span()=>
            let #name = match <#ty as ::yoctopus_core::__private::FromCall>::from_call(&mut __call) {
                ::core::result::Result::Ok(argument) => argument,
                ::core::result::Result::Err(refusal) => return refusal,
            };
        }
    });
    let single_request = single_request(&endpoint.arguments);
    let function = &endpoint.function;
    let reply = convert(&endpoint.output, "__output");
    quote! {
        #[doc(hidden)]
        fn #ident(
            mut __call: ::yoctopus_core::__private::Call,
        ) -> ::yoctopus_core::__private::BoxFuture<::yoctopus_core::__private::Outcome> {
            #(#single_request)*
            #(#scopes)*
            ::std::boxed::Box::pin(async move {
                #(#checks)*
                #(#extractions)*
                let __output = #function(#(#argument_names),*).await;
                #reply
            })
        }
    }
}

/// At most one argument reads `data`: each argument that does, after an earlier one that did, fails
/// a constant assertion spanned at its type.
fn single_request(arguments: &[syn::Type]) -> Vec<TokenStream> {
    let reads_data: Vec<TokenStream> = arguments
        .iter()
        .map(|ty| quote! { <#ty as ::yoctopus_core::__private::FromCall>::READS_DATA })
        .collect();
    (1..arguments.len())
        .map(|index| {
            let this = &reads_data[index];
            let earlier = &reads_data[..index];
            quote_spanned! {arguments[index].span()=>
                const _: () = ::core::assert!(
                    !(#this && (false #(|| #earlier)*)),
                    "this argument is a second request; an endpoint takes one request argument, and the others must be extractors"
                );
            }
        })
        .collect()
}

fn requirement_check(
    module: &syn::Ident,
    requirement: &Requirement,
    text: &syn::Ident,
) -> TokenStream {
    let passes = match requirement {
        Requirement::Setting {
            plugin,
            fields,
            test,
            ..
        } => {
            let settings = settings_type(module, plugin);
            let last = fields.last().map_or_else(Span::call_site, Spanned::span);
            let value = quote_spanned! {last=> __settings #(.#fields)* };
            let test = match test {
                SettingTest::IsTrue => {
                    quote_spanned! {last=> ::yoctopus_core::__private::Flag::is_set(&#value) }
                }
                SettingTest::IsFalse => {
                    quote_spanned! {last=> !::yoctopus_core::__private::Flag::is_set(&#value) }
                }
                SettingTest::Compare(op, expected) => compare(&value, op, expected),
            };
            let read = quote_spanned! {plugin.span()=>
                let __snapshot = __call.connection().settings::<#settings>();
                let __settings: &#settings = &__snapshot;
            };
            quote! {{ #read #test }}
        }
        Requirement::Predicate { function, .. } => {
            // The argument keeps the call site's span, so that rustc's fix for a predicate with
            // the wrong parameters does not rewrite the requirement's own tokens.
            let connection = quote!(__call.connection());
            quote_spanned! {function.span()=> #function(#connection).await }
        }
    };
    quote! {
        if !(#passes) {
            return ::yoctopus_core::__private::requirement_not_met(&#text());
        }
    }
}

/// A comparison of a setting with a value, through traits whose messages say that the value must
/// have the setting's type; the error lands on the value.
fn compare(value: &TokenStream, op: &syn::BinOp, expected: &syn::Expr) -> TokenStream {
    let span = expected.span();
    let private = quote!(::yoctopus_core::__private);
    match op {
        syn::BinOp::Eq(_) => {
            quote_spanned! {span=> #private::setting_eq(&(#expected), &#value) }
        }
        syn::BinOp::Ne(_) => {
            quote_spanned! {span=> !#private::setting_eq(&(#expected), &#value) }
        }
        _ => {
            let ordering = quote_spanned! {span=> #private::setting_cmp(&(#expected), &#value) };
            let accepted = match op {
                syn::BinOp::Lt(_) => quote!(::core::cmp::Ordering::Less),
                syn::BinOp::Le(_) => {
                    quote!(::core::cmp::Ordering::Less | ::core::cmp::Ordering::Equal)
                }
                syn::BinOp::Gt(_) => quote!(::core::cmp::Ordering::Greater),
                _ => quote!(::core::cmp::Ordering::Greater | ::core::cmp::Ordering::Equal),
            };
            quote! { ::core::matches!(#ordering, ::core::option::Option::Some(#accepted)) }
        }
    }
}

/// The function that makes the JSON Schema of the reply's `data`, read from the return type's
/// shape like [`convert`]: a type without a schema is reported at its name.
fn response_schema(output: &Output) -> TokenStream {
    let empty = quote! { ::yoctopus_core::__private::empty_response_schema };
    match output {
        Output::Unit(_) => empty,
        Output::Data(ty) => {
            let span = name_span(ty);
            quote_spanned! {span=> ::yoctopus_core::__private::response_schema::<#ty> }
        }
        Output::Reply(ty) => match second_type_argument(ty) {
            Some(syn::Type::Tuple(unit)) if unit.elems.is_empty() => empty,
            None => empty,
            Some(response) => {
                let span = name_span(response);
                quote_spanned! {span=> ::yoctopus_core::__private::reply_response_schema::<#response> }
            }
        },
        Output::Result(ok, _) => response_schema(ok),
    }
}

/// `T` in `Reply<S, T>`.
fn second_type_argument(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    match &path.path.segments.last()?.arguments {
        syn::PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|arg| match arg {
                syn::GenericArgument::Type(ty) => Some(ty),
                _ => None,
            })
            .nth(1),
        _ => None,
    }
}

/// Turns the handler's return value `value` into an `Outcome`, following the return type's shape.
/// A type that lacks a trait is reported at its name.
fn convert(output: &Output, value: &str) -> TokenStream {
    match output {
        Output::Unit(span) => {
            let value = syn::Ident::new(value, *span);
            quote_spanned! {*span=> { let () = #value; ::yoctopus_core::__private::Outcome::empty() } }
        }
        Output::Data(ty) => {
            let span = name_span(ty);
            let value = syn::Ident::new(value, span);
            quote_spanned! {span=> ::yoctopus_core::__private::response_data(&#value) }
        }
        Output::Reply(ty) => {
            // The settings type is named, so that one that is not a plugin's settings is
            // reported at it.
            let settings =
                first_type_argument(ty).map_or_else(|| quote!(_), ToTokens::to_token_stream);
            let value = syn::Ident::new(value, name_span(ty));
            quote! { ::yoctopus_core::__private::reply_outcome::<#settings, _>(#value, __call.connection()) }
        }
        Output::Result(ok, error_ty) => {
            let value = syn::Ident::new(value, Span::call_site());
            let ok = convert(ok, "__ok");
            let span = name_span(error_ty);
            let error = syn::Ident::new("__error", span);
            let error = quote_spanned! {span=> ::yoctopus_core::__private::handler_error(&#error) };
            quote! {
                match #value {
                    ::core::result::Result::Ok(__ok) => #ok,
                    ::core::result::Result::Err(__error) => #error,
                }
            }
        }
    }
}

/// `S` in `Reply<S, T>`.
fn first_type_argument(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    match &path.path.segments.last()?.arguments {
        syn::PathArguments::AngleBracketed(args) => args.args.iter().find_map(|arg| match arg {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        }),
        _ => None,
    }
}

/// Where to report a type: the last segment of a path (`Message` in `super::Message`), else the
/// type's first token.
fn name_span(ty: &syn::Type) -> Span {
    match ty {
        syn::Type::Path(path) => path
            .path
            .segments
            .last()
            .map_or_else(|| ty.span(), |segment| segment.ident.span()),
        _ => ty.span(),
    }
}
