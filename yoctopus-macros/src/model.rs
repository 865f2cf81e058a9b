//! The validated plugin: what `#[plugin]` found in the module, with the spans errors need.
//!
//! Building the model checks each item on its own and collects every error, so one broken
//! endpoint does not hide the next. Rules that span several items live in `check.rs`.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Ident, Item, ItemFn, ItemMod, ItemStruct, LitStr, Type};

use crate::attr::{
    EndpointArgs, ListenTo, PluginArgs, SettingsArgs, SETTINGS_CONTAINER_KEYS, SETTINGS_FIELD_KEYS,
};
use crate::case;
use crate::check;
use crate::errors::Errors;
use crate::pushes::{self, PushDecl};
use crate::requires::Requirement;

pub(crate) struct Plugin {
    /// The module as written, with our attributes removed.
    pub(crate) module: ItemMod,
    pub(crate) name: String,
    pub(crate) settings: Option<Settings>,
    pub(crate) endpoints: Vec<Endpoint>,
    pub(crate) listeners: Vec<Listener>,
    pub(crate) provides: Vec<Provide>,
    /// The `#[binary]` handler: an endpoint of binary messages.
    pub(crate) binary: Option<Endpoint>,
    /// The pushes it declares with `#[push]`.
    pub(crate) pushes: Vec<PushDecl>,
}

pub(crate) struct Settings {
    pub(crate) ident: Ident,
    pub(crate) fields: Vec<SettingField>,
}

pub(crate) struct SettingField {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    /// The name clients and `get` use.
    pub(crate) wire_name: String,
}

/// An `#[on(...)]` function.
pub(crate) struct Listener {
    pub(crate) function: Ident,
    pub(crate) kind: ListenerKind,
    pub(crate) arguments: Vec<Type>,
    /// The return type; `None` for `()`.
    pub(crate) output: Option<Type>,
}

pub(crate) enum ListenerKind {
    /// `#[on(upgrade)]`: decides whether a client may connect.
    Upgrade,
    /// A lifecycle event, by its name as written in `#[on(...)]`.
    Event(Ident),
    /// One setting of a plugin: `#[on(auth.authenticated)]`.
    Setting { plugin: syn::Path, field: Ident },
}

/// A `#[provide]` function: makes a value every handler and listener can take as `State<T>`.
pub(crate) struct Provide {
    pub(crate) function: Ident,
    pub(crate) output: Type,
}

pub(crate) struct Endpoint {
    pub(crate) function: Ident,
    pub(crate) name: String,
    pub(crate) method: String,
    pub(crate) method_span: Span,
    pub(crate) requires: Vec<Requirement>,
    pub(crate) arguments: Vec<Type>,
    pub(crate) output: Output,
    /// The function's doc comment, for the API description.
    pub(crate) doc: String,
}

/// How a handler's return value becomes a reply.
pub(crate) enum Output {
    /// `()` or nothing: `{}`.
    Unit(Span),
    /// Any `Serialize` value: the reply's `data`.
    Data(Type),
    /// `Reply<S, T>`: settings, then `data`.
    Reply(Type),
    /// `Result<T, E>`: `T` as above, or an error reply with `E`'s message. The type is `E`, or
    /// the whole `Result` when an alias hides `E`.
    Result(Box<Output>, Type),
}

impl Plugin {
    pub(crate) fn build(args: PluginArgs, item: TokenStream) -> syn::Result<Self> {
        let mut module: ItemMod = syn::parse2(item.clone()).map_err(|error| {
            let found = syn::parse2::<Item>(item).map_or("this item", |item| describe(&item));
            syn::Error::new(
                error.span(),
                format!(
                    "`#[plugin]` goes on an inline module `mod name {{ ... }}`, not on {found}"
                ),
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
        let mut first_settings_span = None;
        let mut endpoints = Vec::new();
        let mut listeners = Vec::new();
        let mut provides = Vec::new();
        let mut binary: Option<Endpoint> = None;
        let mut declared_pushes = Vec::new();
        for item in items.iter_mut() {
            if let Some(attr) = take_attribute(item, "push") {
                match PushDecl::build(&attr, item) {
                    Ok(push) => declared_pushes.push(push),
                    Err(error) => errors.push(error),
                }
            }
            if let Some(attr) = take_attribute(item, "binary") {
                match &mut *item {
                    Item::Fn(function) => match Endpoint::build(&attr, function, true) {
                        Ok(handler) => match &binary {
                            Some(first) => {
                                errors.push(syn::Error::new(
                                    handler.function.span(),
                                    "a plugin has one `#[binary]` handler; binary messages have no endpoint to tell handlers apart",
                                ));
                                errors.push(syn::Error::new(
                                    first.function.span(),
                                    "first defined here",
                                ));
                            }
                            None => binary = Some(handler),
                        },
                        Err(error) => errors.push(error),
                    },
                    other => errors.push(syn::Error::new_spanned(
                        attr.path(),
                        format!(
                            "`#[binary]` goes on an async function, not on {}",
                            describe(other)
                        ),
                    )),
                }
            }
            if let Some(attr) = take_attribute(item, "on") {
                match &mut *item {
                    Item::Fn(function) => match Listener::build(&attr, function) {
                        Ok(listener) => listeners.push(listener),
                        Err(error) => errors.push(error),
                    },
                    other => errors.push(syn::Error::new_spanned(
                        attr.path(),
                        format!(
                            "`#[on]` goes on an async function, not on {}",
                            describe(other)
                        ),
                    )),
                }
            }
            if let Some(attr) = take_attribute(item, "provide") {
                match &mut *item {
                    Item::Fn(function) => match Provide::build(&attr, function) {
                        Ok(provide) => provides.push(provide),
                        Err(error) => errors.push(error),
                    },
                    other => errors.push(syn::Error::new_spanned(
                        attr.path(),
                        format!(
                            "`#[provide]` goes on a function, not on {}",
                            describe(other)
                        ),
                    )),
                }
            }
            if let Some(attr) = take_attribute(item, "settings") {
                match &mut *item {
                    Item::Struct(item) => {
                        let result = Settings::build(&attr, item);
                        match first_settings_span {
                            Some(first) => {
                                errors.push(syn::Error::new(
                                    item.ident.span(),
                                    "a plugin has one `#[settings]` struct; move these fields into the first",
                                ));
                                errors.push(syn::Error::new(first, "first defined here"));
                            }
                            None => first_settings_span = Some(item.ident.span()),
                        }
                        match result {
                            Ok(found) if settings.is_none() => settings = Some(found),
                            Ok(_) => {}
                            Err(error) => errors.push(error),
                        }
                    }
                    other => errors.push(syn::Error::new_spanned(
                        attr.path(),
                        format!("`#[settings]` goes on a struct, not on {}", describe(other)),
                    )),
                }
            }
            if let Some(attr) = take_attribute(item, "endpoint") {
                match &mut *item {
                    Item::Fn(function) => match Endpoint::build(&attr, function, false) {
                        Ok(endpoint) => endpoints.push(endpoint),
                        Err(error) => errors.push(error),
                    },
                    other => errors.push(syn::Error::new_spanned(
                        attr.path(),
                        format!(
                            "`#[endpoint]` goes on an async function, not on {}",
                            describe(other)
                        ),
                    )),
                }
            }
        }
        errors.check(check::unique_endpoints(&endpoints));
        errors.check(pushes::unique_pushes(&declared_pushes));
        errors.finish()?;
        Ok(Self {
            module,
            name,
            settings,
            endpoints,
            listeners,
            provides,
            binary,
            pushes: declared_pushes,
        })
    }
}

impl Settings {
    fn build(attr: &syn::Attribute, item: &mut ItemStruct) -> syn::Result<Self> {
        let args = SettingsArgs::parse(attr, SETTINGS_CONTAINER_KEYS)?;
        let style = match &args.rename_all {
            Some(style) if case::rename("x", &style.value()).is_none() => {
                return Err(syn::Error::new(
                    style.span(),
                    format!(
                        "unknown `rename_all` style `{}`; expected one of {}",
                        style.value(),
                        case::STYLES
                            .iter()
                            .map(|style| format!("`{style}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            }
            Some(style) => Some(style.value()),
            None => None,
        };
        if !item.generics.params.is_empty() {
            return Err(syn::Error::new_spanned(
                &item.generics,
                "a `#[settings]` struct cannot be generic",
            ));
        }
        let fields = match &mut item.fields {
            syn::Fields::Named(fields) => fields,
            syn::Fields::Unnamed(fields) => {
                return Err(syn::Error::new_spanned(
                    fields,
                    "a `#[settings]` struct needs named fields, e.g. `struct Settings { authenticated: bool }`",
                ))
            }
            syn::Fields::Unit => {
                return Err(syn::Error::new(
                    item.ident.span(),
                    "a `#[settings]` struct needs named fields, e.g. `struct Settings { authenticated: bool }`",
                ))
            }
        };
        let mut errors = Errors::default();
        let mut settings = Vec::new();
        for field in fields.named.iter_mut() {
            let ident = field.ident.clone().expect("named fields have names");
            let mut rename = None;
            while let Some(position) = field
                .attrs
                .iter()
                .position(|attr| attr.path().is_ident("settings"))
            {
                let attr = field.attrs.remove(position);
                match SettingsArgs::parse(&attr, SETTINGS_FIELD_KEYS) {
                    Ok(args) => rename = args.rename.or(rename),
                    Err(error) => errors.push(error),
                }
            }
            let rust_name = ident.unraw().to_string();
            let wire_name = match (&rename, &style) {
                (Some(rename), _) => rename.value(),
                (None, Some(style)) => {
                    case::rename(&rust_name, style).expect("the style was checked above")
                }
                (None, None) => rust_name,
            };
            if let Some(clash) = settings
                .iter()
                .find(|known: &&SettingField| known.wire_name == wire_name)
            {
                errors.push(syn::Error::new(
                    rename.as_ref().map_or_else(|| ident.span(), LitStr::span),
                    format!(
                        "two settings are called `{wire_name}`; `{}` has that name already",
                        clash.ident
                    ),
                ));
            }
            settings.push(SettingField {
                ident,
                ty: field.ty.clone(),
                wire_name,
            });
        }
        errors.finish()?;
        Ok(Self {
            ident: item.ident.clone(),
            fields: settings,
        })
    }
}

impl Listener {
    fn build(attr: &syn::Attribute, function: &ItemFn) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let kind = match ListenTo::parse(attr) {
            Ok(ListenTo::Event(event)) if event == "upgrade" => Some(ListenerKind::Upgrade),
            Ok(ListenTo::Event(event)) => Some(ListenerKind::Event(event)),
            Ok(ListenTo::Setting(expr)) => match setting_of(&expr) {
                Ok(kind) => Some(kind),
                Err(error) => {
                    errors.push(error);
                    None
                }
            },
            Err(error) => {
                errors.push(error);
                None
            }
        };
        let signature = &function.sig;
        if signature.asyncness.is_none() {
            errors.push(syn::Error::new(
                signature.fn_token.span(),
                "`#[on]` functions must be `async`; write `async fn`",
            ));
        }
        if !signature.generics.params.is_empty() {
            errors.push(syn::Error::new_spanned(
                &signature.generics,
                "`#[on]` functions cannot be generic",
            ));
        }
        let mut arguments = Vec::new();
        for input in &signature.inputs {
            match input {
                syn::FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                    receiver,
                    "`#[on]` functions are free functions; they cannot take `self`",
                )),
                syn::FnArg::Typed(typed) => arguments.push((*typed.ty).clone()),
            }
        }
        errors.finish()?;
        Ok(Self {
            function: signature.ident.clone(),
            kind: kind.expect("errors were reported above"),
            arguments,
            output: match &signature.output {
                syn::ReturnType::Default => None,
                syn::ReturnType::Type(_, ty) => Some((**ty).clone()),
            },
        })
    }
}

/// `plugin.setting` of `#[on(plugin.setting)]`: one level, a named field.
fn setting_of(expr: &syn::Expr) -> syn::Result<ListenerKind> {
    let syn::Expr::Field(field) = expr else {
        return Err(syn::Error::new_spanned(
            expr,
            "expected a setting, `plugin.setting`",
        ));
    };
    let syn::Member::Named(ident) = &field.member else {
        return Err(syn::Error::new_spanned(
            &field.member,
            "a setting has a name, `plugin.setting`",
        ));
    };
    match &*field.base {
        syn::Expr::Path(path) if path.qself.is_none() => Ok(ListenerKind::Setting {
            plugin: path.path.clone(),
            field: ident.clone(),
        }),
        _ => Err(syn::Error::new_spanned(
            &field.member,
            "a listener hears one whole setting, `plugin.setting`; listen to the setting and read the field inside it",
        )),
    }
}

impl Provide {
    fn build(attr: &syn::Attribute, function: &ItemFn) -> syn::Result<Self> {
        if !matches!(attr.meta, syn::Meta::Path(_)) {
            return Err(syn::Error::new_spanned(
                &attr.meta,
                "`#[provide]` takes no arguments; write `#[provide]`",
            ));
        }
        let signature = &function.sig;
        if let Some(asyncness) = signature.asyncness {
            return Err(syn::Error::new(
                asyncness.span(),
                "`#[provide]` functions run once when the server starts and cannot be `async`; make the value at once, or give it to `Plugin::provide`",
            ));
        }
        if !signature.inputs.is_empty() || !signature.generics.params.is_empty() {
            return Err(syn::Error::new_spanned(
                &signature.inputs,
                "`#[provide]` functions take no arguments",
            ));
        }
        match &signature.output {
            syn::ReturnType::Type(_, ty) => Ok(Self {
                function: signature.ident.clone(),
                output: (**ty).clone(),
            }),
            syn::ReturnType::Default => Err(syn::Error::new(
                signature.ident.span(),
                "a `#[provide]` function returns the value it provides",
            )),
        }
    }
}

impl Endpoint {
    /// An `#[endpoint]`, or with `binary` the plugin's `#[binary]` handler (an endpoint of
    /// binary messages, which has requirements but no name or method).
    fn build(attr: &syn::Attribute, function: &ItemFn, binary: bool) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let args = EndpointArgs::parse(attr, binary)?;
        let attribute = if binary { "#[binary]" } else { "#[endpoint]" };
        let signature = &function.sig;
        if signature.asyncness.is_none() {
            errors.push(syn::Error::new(
                signature.fn_token.span(),
                format!("`{attribute}` functions must be `async`; write `async fn`"),
            ));
        }
        if !signature.generics.params.is_empty() {
            errors.push(syn::Error::new_spanned(
                &signature.generics,
                format!("`{attribute}` functions cannot be generic"),
            ));
        }
        let mut arguments = Vec::new();
        for input in &signature.inputs {
            match input {
                syn::FnArg::Receiver(receiver) => errors.push(syn::Error::new_spanned(
                    receiver,
                    format!("`{attribute}` functions are free functions; they cannot take `self`"),
                )),
                syn::FnArg::Typed(typed) => arguments.push((*typed.ty).clone()),
            }
        }
        let mut requires = Vec::new();
        for expr in &args.requires {
            match Requirement::parse(expr) {
                Ok(requirement) => requires.push(requirement),
                Err(error) => errors.push(error),
            }
        }
        if binary {
            errors.finish()?;
            return Ok(Self {
                function: signature.ident.clone(),
                name: "binary".to_owned(),
                method: "binary".to_owned(),
                method_span: args.span,
                requires,
                arguments,
                output: match &signature.output {
                    syn::ReturnType::Default => Output::Unit(signature.ident.span()),
                    syn::ReturnType::Type(_, ty) => Output::classify(ty),
                },
                doc: pushes::doc_of(&function.attrs),
            });
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
            doc: pushes::doc_of(&function.attrs),
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
                let types: Vec<&Type> = match &last.arguments {
                    syn::PathArguments::AngleBracketed(args) => args
                        .args
                        .iter()
                        .filter_map(|arg| match arg {
                            syn::GenericArgument::Type(ty) => Some(ty),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                match (last.ident.to_string().as_str(), types.first()) {
                    ("Result", Some(ok)) => Self::Result(
                        Box::new(Self::classify(ok)),
                        types
                            .get(1)
                            .map_or_else(|| ty.clone(), |error| (*error).clone()),
                    ),
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

pub(crate) fn describe(item: &Item) -> &'static str {
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

/// Removes every attribute of ours from a module, for the fallback output after an error. An
/// endpoint's `self` parameter goes too: its error is already reported, and rustc would report it
/// again.
pub(crate) fn strip_our_attributes(module: &mut ItemMod) {
    if let Some((_, items)) = module.content.as_mut() {
        for item in items {
            while take_attribute(item, "settings").is_some() {}
            while take_attribute(item, "provide").is_some() {}
            while take_attribute(item, "push").is_some() {}
            if let Item::Struct(item) = item {
                for field in item.fields.iter_mut() {
                    field.attrs.retain(|attr| !attr.path().is_ident("settings"));
                }
            }
            let mut endpoint = false;
            while take_attribute(item, "endpoint").is_some()
                || take_attribute(item, "on").is_some()
                || take_attribute(item, "binary").is_some()
            {
                endpoint = true;
            }
            if let (true, Item::Fn(function)) = (endpoint, item) {
                function.sig.inputs = std::mem::take(&mut function.sig.inputs)
                    .into_pairs()
                    .filter(|pair| !matches!(pair.value(), syn::FnArg::Receiver(_)))
                    .collect();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::{quote, ToTokens};

    use super::{Output, Plugin};
    use crate::attr::PluginArgs;

    fn build(tokens: proc_macro2::TokenStream) -> syn::Result<Plugin> {
        Plugin::build(PluginArgs::default(), tokens)
    }

    /// Every message of a refused plugin, in the order the build reports them.
    fn errors(tokens: proc_macro2::TokenStream) -> Vec<String> {
        match build(tokens) {
            Ok(_) => panic!("the plugin was accepted"),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    fn output(function: proc_macro2::TokenStream) -> Output {
        let plugin = build(quote!(mod m { #[endpoint(method = "read")] #function })).unwrap();
        plugin.endpoints.into_iter().next().unwrap().output
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

    #[test]
    fn the_plugin_goes_on_an_inline_module() {
        assert_eq!(
            errors(quote!(
                fn greeter() {}
            )),
            ["`#[plugin]` goes on an inline module `mod name { ... }`, not on a function"]
        );
        assert_eq!(
            errors(quote!(
                struct Greeter;
            )),
            ["`#[plugin]` goes on an inline module `mod name { ... }`, not on a struct"]
        );
        assert_eq!(
            errors(quote!(pub mod greeter;)),
            ["`#[plugin]` needs the module's items inline; write `mod greeter { ... }` instead of `mod greeter;`"]
        );
    }

    #[test]
    fn names_are_checked_and_raw_identifiers_lose_their_prefix() {
        let args = PluginArgs::parse(quote!(name = "a b")).unwrap();
        let error = Plugin::build(
            args,
            quote!(
                mod m {}
            ),
        )
        .err()
        .expect("refused");
        assert_eq!(
            error.to_string(),
            "the plugin name `a b` cannot contain `:` or white space"
        );
        let plugin = build(quote! {
            mod r#match {
                #[endpoint(method = "read")]
                async fn r#type() {}
            }
        })
        .unwrap();
        assert_eq!(
            (plugin.name.as_str(), plugin.endpoints[0].name.as_str()),
            ("match", "type")
        );
        assert_eq!(
            errors(quote!(
                mod m {
                    #[endpoint(name = "", method = "read")]
                    async fn f() {}
                }
            )),
            ["the endpoint name cannot be empty"]
        );
        assert_eq!(
            errors(quote!(
                mod m {
                    #[endpoint(method = "read:all")]
                    async fn f() {}
                }
            )),
            ["the method name `read:all` cannot contain `:` or white space"]
        );
    }

    #[test]
    fn settings_are_one_struct_with_named_fields_and_known_arguments() {
        assert_eq!(
            errors(quote! {
                mod m {
                    #[settings] pub struct First { pub a: bool }
                    #[settings] pub struct Second { pub b: bool }
                }
            }),
            [
                "a plugin has one `#[settings]` struct; move these fields into the first",
                "first defined here"
            ]
        );
        let named = "a `#[settings]` struct needs named fields, e.g. `struct Settings { authenticated: bool }`";
        assert_eq!(
            errors(quote!(
                mod m {
                    #[settings]
                    struct S(bool);
                }
            )),
            [named]
        );
        assert_eq!(
            errors(quote!(
                mod m {
                    #[settings]
                    struct S;
                }
            )),
            [named]
        );
        assert_eq!(
            errors(quote!(
                mod m {
                    #[settings]
                    struct S<T> {
                        t: T,
                    }
                }
            )),
            ["a `#[settings]` struct cannot be generic"]
        );
        for (attribute, message) in [
            (
                quote!(#[settings(x)]),
                "unknown `#[settings]` argument `x`; expected `rename_all`",
            ),
            (
                quote!(#[settings(rename_all = "Title Case")]),
                "unknown `rename_all` style `Title Case`; expected one of `lowercase`, `UPPERCASE`, `PascalCase`, `camelCase`, `snake_case`, `SCREAMING_SNAKE_CASE`, `kebab-case`",
            ),
            (
                quote!(#[settings = "x"]),
                "`#[settings]` takes a list of arguments, e.g. `#[settings(rename_all = \"camelCase\")]`",
            ),
        ] {
            assert_eq!(
                errors(quote!(mod m { #attribute struct S { a: bool } })),
                [message],
                "{attribute}"
            );
        }
        assert_eq!(
            errors(quote!(
                mod m {
                    #[settings]
                    struct S {
                        #[settings(rename_all = "camelCase")]
                        a: bool,
                    }
                }
            )),
            ["unknown `#[settings]` argument `rename_all`; expected `rename`"]
        );
        assert_eq!(
            errors(quote!(
                mod m {
                    #[settings(rename_all = "camelCase")]
                    struct S {
                        is_admin: bool,
                        #[settings(rename = "isAdmin")]
                        admin: bool,
                    }
                }
            )),
            ["two settings are called `isAdmin`; `is_admin` has that name already"]
        );
        assert_eq!(
            errors(quote!(
                mod m {
                    #[settings]
                    enum S {
                        A,
                    }
                }
            )),
            ["`#[settings]` goes on a struct, not on an enum"]
        );
    }

    #[test]
    fn settings_take_their_wire_names_from_renames() {
        let plugin = build(quote! {
            mod auth {
                #[settings(rename_all = "camelCase")]
                struct Settings { user_id: String, #[settings(rename = "admin")] is_admin: bool, r#type: u8 }
            }
        })
        .unwrap();
        let names: Vec<&str> = plugin
            .settings
            .as_ref()
            .unwrap()
            .fields
            .iter()
            .map(|f| f.wire_name.as_str())
            .collect();
        assert_eq!(names, ["userId", "admin", "type"]);
    }

    #[test]
    fn listeners_name_an_event_or_one_setting() {
        let plugin = build(quote! {
            mod logger {
                #[on(connection_opened)] async fn opened() {}
                #[on(super::auth.authenticated)] async fn changed() {}
                #[on(upgrade)] async fn check() -> Result<(), Refusal> { Ok(()) }
                #[provide] fn clock() -> Clock { Clock }
            }
        })
        .unwrap();
        assert_eq!(plugin.listeners.len(), 3);
        assert!(
            matches!(&plugin.listeners[0].kind, super::ListenerKind::Event(event) if event == "connection_opened")
        );
        assert!(
            matches!(&plugin.listeners[1].kind, super::ListenerKind::Setting { field, .. } if field == "authenticated")
        );
        assert!(matches!(
            plugin.listeners[2].kind,
            super::ListenerKind::Upgrade
        ));
        assert_eq!(plugin.provides.len(), 1);
        let events = "expected an event, one of `upgrade`, `connection_opened`, `connection_closed`, `request_received`, `response_prepared`, `response_sent`, `connection_changed`, or a setting, `plugin.setting`";
        for (attribute, message) in [
            (quote!(#[on(connection_open)]), format!("unknown listener event `connection_open`; {events}")),
            (quote!(#[on]), format!("`#[on]` needs what it listens to: {events}")),
            (quote!(#[on(auth.profile.name)]), "a listener hears one whole setting, `plugin.setting`; listen to the setting and read the field inside it".to_owned()),
            (quote!(#[on("auth.authenticated")]), events.to_owned()),
        ] {
            assert_eq!(errors(quote!(mod m { #attribute async fn f() {} })), [message], "{attribute}");
        }
        assert_eq!(
            errors(quote!(
                mod m {
                    #[on(connection_opened)]
                    fn f() {}
                }
            )),
            ["`#[on]` functions must be `async`; write `async fn`"]
        );
        assert_eq!(
            errors(quote!(mod m { #[provide] async fn f() -> u8 { 1 } })),
            ["`#[provide]` functions run once when the server starts and cannot be `async`; make the value at once, or give it to `Plugin::provide`"]
        );
        assert_eq!(
            errors(quote!(
                mod m {
                    #[provide]
                    fn f(x: u8) -> u8 {
                        x
                    }
                }
            )),
            ["`#[provide]` functions take no arguments"]
        );
        assert_eq!(
            errors(quote!(
                mod m {
                    #[provide]
                    fn f() {}
                }
            )),
            ["a `#[provide]` function returns the value it provides"]
        );
    }

    #[test]
    fn endpoints_are_free_async_functions() {
        assert_eq!(
            errors(quote!(
                mod m {
                    #[endpoint(method = "read")]
                    struct S;
                }
            )),
            ["`#[endpoint]` goes on an async function, not on a struct"]
        );
        assert_eq!(
            errors(quote!(
                mod m {
                    #[endpoint(method = "read")]
                    async fn f<T>(self) {}
                }
            )),
            [
                "`#[endpoint]` functions cannot be generic",
                "`#[endpoint]` functions are free functions; they cannot take `self`"
            ]
        );
    }

    #[test]
    fn endpoint_arguments() {
        let cases = [
            (
                quote!(#[endpoint(method = "read", require(x))]),
                "unknown `#[endpoint]` argument `require`; expected one of `name`, `method`, `requires`",
            ),
            (
                quote!(#[endpoint(method = "read", method = "create")]),
                "`method` is given twice; keep one",
            ),
            (
                quote!(#[endpoint(method = read)]),
                "`method` takes a string literal, e.g. `method = \"read\"`",
            ),
            (
                quote!(#[endpoint(method = "read", requires)]),
                "`requires` takes a list, `requires(auth.authenticated, can_edit)`, or one requirement, `requires = auth.authenticated`",
            ),
            (
                quote!(#[endpoint]),
                "`#[endpoint]` needs a `method`, e.g. `#[endpoint(method = \"read\")]`",
            ),
        ];
        for (attribute, message) in cases {
            assert_eq!(
                errors(quote!(mod m { #attribute async fn f() {} })),
                [message],
                "{attribute}"
            );
        }
        let plugin = build(quote! {
            mod m {
                #[endpoint(method = "read", requires = a.b, requires(c, !d.e), requires = f.g > 1)]
                async fn f() {}
            }
        })
        .unwrap();
        let texts: Vec<&str> = plugin.endpoints[0]
            .requires
            .iter()
            .map(|r| r.text())
            .collect();
        assert_eq!(texts, ["a.b", "c", "!d.e", "f.g > 1"]);
    }

    #[test]
    fn a_duplicate_is_reported_on_the_second_definition_with_the_first_noted() {
        assert_eq!(
            errors(quote! {
                mod m {
                    #[endpoint(name = "x", method = "read")] async fn a() {}
                    #[endpoint(name = "x", method = "create")] async fn b() {}
                    #[endpoint(name = "x", method = "read")] async fn c() {}
                }
            }),
            [
                "duplicate endpoint `x` with method `read`; each endpoint and method pair is defined once",
                "first defined here"
            ]
        );
    }

    #[test]
    fn return_shapes_are_read_from_the_written_type() {
        assert!(matches!(
            output(quote!(
                async fn f() {}
            )),
            Output::Unit(_)
        ));
        assert!(matches!(
            output(quote!(
                async fn f() -> () {}
            )),
            Output::Unit(_)
        ));
        assert!(matches!(
            output(quote!(
                async fn f() -> (()) {}
            )),
            Output::Unit(_)
        ));
        assert!(matches!(
            output(quote!(
                async fn f() -> String {}
            )),
            Output::Data(_)
        ));
        assert!(matches!(
            output(quote!(
                async fn f() -> Reply<S> {}
            )),
            Output::Reply(_)
        ));
        let Output::Result(ok, error) = output(quote!(
            async fn f() -> Result<Reply<S, T>, E> {}
        )) else {
            panic!("not a result");
        };
        assert!(matches!(*ok, Output::Reply(_)));
        assert_eq!(error.to_token_stream().to_string(), "E");
        // An alias that hides the error type: errors are reported at the whole type.
        let Output::Result(ok, error) = output(quote!(
            async fn f() -> std::io::Result<u8> {}
        )) else {
            panic!("not a result");
        };
        assert!(matches!(*ok, Output::Data(_)));
        assert_eq!(
            error.to_token_stream().to_string(),
            "std :: io :: Result < u8 >"
        );
    }

    #[test]
    fn the_fallback_drops_our_attributes_and_an_endpoint_receiver() {
        let mut module: syn::ItemMod = syn::parse_quote! {
            mod m {
                #[settings] #[derive(Default)] struct S { a: bool }
                #[endpoint(method = "read")] async fn f(self, x: u8) {}
                fn g(x: u8) {}
            }
        };
        super::strip_our_attributes(&mut module);
        let expected: syn::ItemMod = syn::parse_quote! {
            mod m {
                #[derive(Default)] struct S { a: bool }
                async fn f(x: u8) {}
                fn g(x: u8) {}
            }
        };
        assert_eq!(
            module.to_token_stream().to_string(),
            expected.to_token_stream().to_string()
        );
    }
}
