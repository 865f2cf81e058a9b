//! The validated plugin: what `#[plugin]` found in the module, with the spans errors need.
//!
//! Building the model checks each item on its own and collects every error, so one broken
//! endpoint does not hide the next. Rules that span several items live in `check.rs`.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, Item, ItemFn, ItemMod, ItemStruct, LitStr, Type};

use crate::attr::{EndpointArgs, PluginArgs};
use crate::check;
use crate::errors::Errors;
use crate::requires::Requirement;

pub(crate) struct Plugin {
    /// The module as written, with our attributes removed.
    pub(crate) module: ItemMod,
    pub(crate) name: String,
    pub(crate) settings: Option<Settings>,
    pub(crate) endpoints: Vec<Endpoint>,
}

pub(crate) struct Settings {
    pub(crate) ident: Ident,
    pub(crate) fields: Vec<(Ident, Type)>,
}

pub(crate) struct Endpoint {
    pub(crate) function: Ident,
    pub(crate) name: String,
    pub(crate) method: String,
    pub(crate) method_span: Span,
    pub(crate) requires: Vec<Requirement>,
    pub(crate) arguments: Vec<Type>,
    pub(crate) output: Output,
}

/// How a handler's return value becomes a reply.
pub(crate) enum Output {
    /// `()` or nothing: `{}`.
    Unit(Span),
    /// Any `Serialize` value: the reply's `data`.
    Data(Type),
    /// `Reply<S, T>`: settings, then `data`.
    Reply(Type),
    /// `Result<T, E>`: `T` as above, or an error reply with `E`'s message.
    Result(Box<Output>, Type),
}

impl Plugin {
    pub(crate) fn build(args: PluginArgs, item: TokenStream) -> syn::Result<Self> {
        let mut module: ItemMod = syn::parse2(item).map_err(|error| {
            syn::Error::new(
                error.span(),
                "`#[plugin]` goes on an inline module: `#[plugin] mod name { ... }`",
            )
        })?;
        let Some((_, items)) = module.content.as_mut() else {
            return Err(syn::Error::new(
                module.ident.span(),
                format!(
                    "`#[plugin]` needs the module's items inline; write `mod {} {{ ... }}` instead of `mod {};`",
                    module.ident, module.ident
                ),
            ));
        };
        let mut errors = Errors::default();
        let name = match args.name {
            Some(name) => {
                errors.check(valid_name(&name, "plugin"));
                name.value()
            }
            None => module.ident.unraw().to_string(),
        };
        let mut settings: Option<Settings> = None;
        let mut endpoints = Vec::new();
        for item in items.iter_mut() {
            if let Some(attr) = take_attribute(item, "settings") {
                match &mut *item {
                    Item::Struct(item) => match Settings::build(&attr, item) {
                        Ok(found) if settings.is_some() => errors.push(syn::Error::new(
                            found.ident.span(),
                            "a plugin has one `#[settings]` struct; this is the second",
                        )),
                        Ok(found) => settings = Some(found),
                        Err(error) => errors.push(error),
                    },
                    other => errors.push(syn::Error::new(
                        attr.span(),
                        format!("`#[settings]` goes on a struct, not on {}", describe(other)),
                    )),
                }
            }
            if let Some(attr) = take_attribute(item, "endpoint") {
                match &mut *item {
                    Item::Fn(function) => match Endpoint::build(&attr, function) {
                        Ok(endpoint) => endpoints.push(endpoint),
                        Err(error) => errors.push(error),
                    },
                    other => errors.push(syn::Error::new(
                        attr.span(),
                        format!(
                            "`#[endpoint]` goes on an async function, not on {}",
                            describe(other)
                        ),
                    )),
                }
            }
        }
        errors.check(check::unique_endpoints(&endpoints));
        errors.finish()?;
        Ok(Self {
            module,
            name,
            settings,
            endpoints,
        })
    }
}

impl Settings {
    fn build(attr: &syn::Attribute, item: &ItemStruct) -> syn::Result<Self> {
        if !matches!(attr.meta, syn::Meta::Path(_)) {
            return Err(syn::Error::new_spanned(
                &attr.meta,
                "`#[settings]` takes no arguments",
            ));
        }
        if !item.generics.params.is_empty() {
            return Err(syn::Error::new_spanned(
                &item.generics,
                "a `#[settings]` struct cannot be generic",
            ));
        }
        let syn::Fields::Named(fields) = &item.fields else {
            return Err(syn::Error::new(
                item.ident.span(),
                "a `#[settings]` struct needs named fields: `struct Settings { authenticated: bool }`",
            ));
        };
        Ok(Self {
            ident: item.ident.clone(),
            fields: fields
                .named
                .iter()
                .map(|field| {
                    (
                        field.ident.clone().expect("named fields have names"),
                        field.ty.clone(),
                    )
                })
                .collect(),
        })
    }
}

impl Endpoint {
    fn build(attr: &syn::Attribute, function: &ItemFn) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let args = EndpointArgs::parse(attr)?;
        let signature = &function.sig;
        if signature.asyncness.is_none() {
            errors.push(syn::Error::new(
                signature.fn_token.span(),
                "`#[endpoint]` functions must be `async`; write `async fn`",
            ));
        }
        if !signature.generics.params.is_empty() {
            errors.push(syn::Error::new_spanned(
                &signature.generics,
                "`#[endpoint]` functions cannot be generic",
            ));
        }
        let mut arguments = Vec::new();
        for input in &signature.inputs {
            match input {
                syn::FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                    receiver,
                    "`#[endpoint]` functions are free functions; they cannot take `self`",
                )),
                syn::FnArg::Typed(typed) => arguments.push((*typed.ty).clone()),
            }
        }
        let name = match &args.name {
            Some(name) => {
                errors.check(valid_name(name, "endpoint"));
                name.value()
            }
            None => signature.ident.unraw().to_string(),
        };
        let (method, method_span) = match &args.method {
            Some(method) => {
                errors.check(valid_name(method, "method"));
                (method.value(), method.span())
            }
            None => {
                errors.push(syn::Error::new(
                    args.span,
                    "`#[endpoint]` needs a `method`, e.g. `#[endpoint(method = \"read\")]`",
                ));
                (String::new(), args.span)
            }
        };
        let mut requires = Vec::new();
        for expr in &args.requires {
            match Requirement::parse(expr) {
                Ok(requirement) => requires.push(requirement),
                Err(error) => errors.push(error),
            }
        }
        errors.finish()?;
        Ok(Self {
            function: signature.ident.clone(),
            name,
            method,
            method_span,
            requires,
            arguments,
            output: match &signature.output {
                syn::ReturnType::Default => Output::Unit(signature.ident.span()),
                syn::ReturnType::Type(_, ty) => Output::classify(ty),
            },
        })
    }
}

impl Output {
    /// Reads the return type's shape. Aliases of `Result` or `Reply` under other names are
    /// treated as plain data; that is documented on `#[endpoint]`.
    fn classify(ty: &Type) -> Self {
        match ty {
            Type::Tuple(tuple) if tuple.elems.is_empty() => Self::Unit(ty.span()),
            Type::Paren(inner) => Self::classify(&inner.elem),
            Type::Path(path) if path.qself.is_none() => {
                let last = path.path.segments.last().expect("a path has a segment");
                let first_type = match &last.arguments {
                    syn::PathArguments::AngleBracketed(args) => {
                        args.args.iter().find_map(|arg| match arg {
                            syn::GenericArgument::Type(ty) => Some(ty),
                            _ => None,
                        })
                    }
                    _ => None,
                };
                match (last.ident.to_string().as_str(), first_type) {
                    ("Result", Some(ok)) => Self::Result(Box::new(Self::classify(ok)), ty.clone()),
                    ("Reply", Some(_)) => Self::Reply(ty.clone()),
                    _ => Self::Data(ty.clone()),
                }
            }
            _ => Self::Data(ty.clone()),
        }
    }
}

/// Plugin, endpoint and method names: non-empty, no `:` (it separates plugin and endpoint), no
/// white space.
fn valid_name(name: &LitStr, what: &str) -> syn::Result<()> {
    let value = name.value();
    if value.is_empty() {
        return Err(syn::Error::new(
            name.span(),
            format!("the {what} name cannot be empty"),
        ));
    }
    if value.contains(':') || value.contains(char::is_whitespace) {
        return Err(syn::Error::new(
            name.span(),
            format!("the {what} name `{value}` cannot contain `:` or white space"),
        ));
    }
    Ok(())
}

/// Removes and returns our attribute `name` from an item, so the module is emitted without it.
fn take_attribute(item: &mut Item, name: &str) -> Option<syn::Attribute> {
    let attrs = match item {
        Item::Struct(item) => &mut item.attrs,
        Item::Fn(item) => &mut item.attrs,
        Item::Enum(item) => &mut item.attrs,
        Item::Const(item) => &mut item.attrs,
        Item::Static(item) => &mut item.attrs,
        Item::Type(item) => &mut item.attrs,
        Item::Impl(item) => &mut item.attrs,
        Item::Mod(item) => &mut item.attrs,
        Item::Trait(item) => &mut item.attrs,
        Item::Use(item) => &mut item.attrs,
        _ => return None,
    };
    let position = attrs.iter().position(|attr| attr.path().is_ident(name))?;
    Some(attrs.remove(position))
}

fn describe(item: &Item) -> &'static str {
    match item {
        Item::Struct(_) => "a struct",
        Item::Fn(_) => "a function",
        Item::Enum(_) => "an enum",
        Item::Const(_) => "a constant",
        Item::Static(_) => "a static",
        Item::Type(_) => "a type alias",
        Item::Impl(_) => "an impl block",
        Item::Mod(_) => "a module",
        Item::Trait(_) => "a trait",
        Item::Use(_) => "a `use` item",
        _ => "this item",
    }
}

/// Removes every attribute of ours from a module, for the fallback output after an error.
pub(crate) fn strip_our_attributes(module: &mut ItemMod) {
    if let Some((_, items)) = module.content.as_mut() {
        for item in items {
            while take_attribute(item, "settings").is_some()
                || take_attribute(item, "endpoint").is_some()
            {}
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::{Output, Plugin};
    use crate::attr::PluginArgs;

    fn build(tokens: proc_macro2::TokenStream) -> syn::Result<Plugin> {
        Plugin::build(PluginArgs::default(), tokens)
    }

    #[test]
    fn a_plugin_with_settings_and_endpoints() {
        let plugin = build(quote! {
            mod auth {
                #[settings]
                #[derive(Default, Clone)]
                pub struct Settings { pub authenticated: bool, pub user_id: Option<String> }

                #[endpoint(name = "session", method = "create", requires(!self.authenticated))]
                async fn login(request: Login) -> Result<Reply<Settings, Welcome>, Error> { Err(Error) }

                #[endpoint(method = "delete", requires = self.authenticated)]
                async fn session() {}
            }
        })
        .unwrap();
        assert_eq!(plugin.name, "auth");
        let settings = plugin.settings.as_ref().unwrap();
        assert_eq!(settings.fields.len(), 2);
        let names: Vec<_> = plugin
            .endpoints
            .iter()
            .map(|e| (e.name.as_str(), e.method.as_str()))
            .collect();
        assert_eq!(names, [("session", "create"), ("session", "delete")]);
        assert!(
            matches!(&plugin.endpoints[0].output, Output::Result(inner, _) if matches!(**inner, Output::Reply(_)))
        );
        assert!(matches!(plugin.endpoints[1].output, Output::Unit(_)));
        assert_eq!(
            plugin.endpoints[0].requires[0].text(),
            "!self.authenticated"
        );
    }

    #[test]
    fn every_broken_endpoint_is_reported_at_once() {
        let error = build(quote! {
            mod broken {
                #[endpoint(method = "read")]
                fn not_async() {}
                #[endpoint(name = "a:b", method = "read")]
                async fn colon() {}
                #[endpoint(name = "x")]
                async fn no_method() {}
            }
        })
        .err()
        .expect("refused");
        let messages: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages[0].contains("must be `async`"));
        assert!(messages[1].contains("cannot contain `:`"));
        assert!(messages[2].contains("needs a `method`"));
    }
}
