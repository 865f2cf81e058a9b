//! `#[derive(RequestFormat)]`: a validator that converts a JSON value into the type in one walk,
//! its description in the original notation, and its JSON Schema.
//!
//! Structs with named fields become object formats (nested to any depth through their field
//! types); enums of unit variants become unions of literal strings.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::attr::{FormatArgs, FORMAT_CONTAINER_KEYS, FORMAT_FIELD_KEYS, FORMAT_VARIANT_KEYS};
use crate::case;
use crate::errors::Errors;

pub(crate) fn derive_request_format(input: TokenStream) -> TokenStream {
    match syn::parse2::<DeriveInput>(input).and_then(|input| render(&input)) {
        Ok(tokens) => tokens,
        Err(errors) => errors.to_compile_error(),
    }
}

fn render(input: &DeriveInput) -> syn::Result<TokenStream> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "`RequestFormat` cannot be derived for a generic type",
        ));
    }
    let container = FormatArgs::parse(&input.attrs, FORMAT_CONTAINER_KEYS)?;
    let style = match &container.rename_all {
        Some(style) if case::rename("x", &style.value()).is_none() => {
            let styles = case::STYLES
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(syn::Error::new(
                style.span(),
                format!(
                    "unknown `rename_all` style `{}`; expected one of {styles}",
                    style.value()
                ),
            ));
        }
        Some(style) => Some(style.value()),
        None => None,
    };
    let ident = &input.ident;
    let (validator, expected, describe, schema, fast) = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => object(
                ident,
                fields,
                style.as_deref(),
                container.deny_unknown_keys.is_some(),
            )?,
            Fields::Unnamed(fields) => return Err(syn::Error::new_spanned(fields, NAMED_FIELDS)),
            Fields::Unit => return Err(syn::Error::new(ident.span(), NAMED_FIELDS)),
        },
        Data::Enum(_) if container.deny_unknown_keys.is_some() => {
            return Err(syn::Error::new_spanned(
                container.deny_unknown_keys.as_ref(),
                "`deny_unknown_keys` is for structs, whose keys it closes; an enum is a union of literal strings and has no keys",
            ))
        }
        Data::Enum(data) => union(ident, data, style.as_deref().unwrap_or("snake_case"))?,
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span(),
                "`RequestFormat` is derived for structs and enums, not unions",
            ))
        }
    };
    let name = ident.to_string();
    // `do_not_recommend`: an error about a type that is not a request format lists the built-in
    // formats, not every derived one.
    Ok(quote! {
        #[diagnostic::do_not_recommend]
        impl ::yoctopus_core::__private::RequestFormat for #ident {
            const EXPECTED: &'static ::core::primitive::str = #expected;

            fn from_json(
                value: ::yoctopus_core::__private::serde_json::Value,
                at: &::yoctopus_core::__private::FieldPath<'_>,
                errors: &mut ::yoctopus_core::__private::ValidationErrors,
            ) -> ::core::option::Option<Self> {
                #validator
            }

            fn describe() -> ::yoctopus_core::__private::serde_json::Value {
                #describe
            }

            fn deserialize_fast<'de, D: ::yoctopus_core::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                #fast
            }
        }

        impl ::yoctopus_core::__private::schemars::JsonSchema for #ident {
            fn schema_name() -> ::std::borrow::Cow<'static, ::core::primitive::str> {
                ::std::borrow::Cow::Borrowed(#name)
            }

            fn schema_id() -> ::std::borrow::Cow<'static, ::core::primitive::str> {
                ::std::borrow::Cow::Borrowed(::core::concat!(::core::module_path!(), "::", #name))
            }

            fn json_schema(
                generator: &mut ::yoctopus_core::__private::schemars::SchemaGenerator,
            ) -> ::yoctopus_core::__private::schemars::Schema {
                #schema
            }
        }
    })
}

const NAMED_FIELDS: &str = "a request format struct needs named fields, e.g. `struct Hello { name: String }`; its fields are the request's keys";

/// The validator's body, `EXPECTED`, the description, the schema and the fast reader's body.
type Parts = (TokenStream, String, TokenStream, TokenStream, TokenStream);

fn object(
    ident: &syn::Ident,
    fields: &syn::FieldsNamed,
    style: Option<&str>,
    deny_unknown_keys: bool,
) -> syn::Result<Parts> {
    let mut errors = Errors::default();
    let mut reads = Vec::new();
    let mut keys = Vec::new();
    let mut validators = Vec::new();
    let mut idents = Vec::new();
    let mut types = Vec::new();
    let mut fast_checks = Vec::new();
    for field in &fields.named {
        let args = match FormatArgs::parse(&field.attrs, FORMAT_FIELD_KEYS) {
            Ok(args) => args,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        let ident = field.ident.clone().expect("named fields have names");
        let written = ident.unraw().to_string();
        let key = match (&args.rename, style) {
            (Some(rename), _) => rename.value(),
            (None, Some(style)) => case::rename(&written, style).expect("style checked above"),
            (None, None) => written,
        };
        let ty = &field.ty;
        let mut read = quote! {
            ::yoctopus_core::__private::take_field::<#ty>(&mut object, #key, at, errors)
        };
        if let Some(validator) = &args.with {
            let name = validator
                .segments
                .iter()
                .map(|segment| segment.ident.to_string())
                .collect::<Vec<_>>()
                .join("::");
            let check = quote_spanned! {validator.span()=>
                ::yoctopus_core::__private::ValidatorOutcome::record(#validator(value), &at.key(#key), #name, errors)
            };
            read = quote! { #read.filter(|value| #check) };
            // Spanned at the validator like the check above, so that a validator of the wrong
            // type gives one error (rustc merges identical ones), not one per reading.
            let local = syn::Ident::new(&format!("__field_{}", ident.unraw()), validator.span());
            fast_checks.push(quote_spanned! {validator.span()=>
                if !::yoctopus_core::__private::ValidatorOutcome::passed(&#validator(&#local)) {
                    return ::core::result::Result::Err(
                        <A::Error as ::yoctopus_core::__private::serde::de::Error>::custom(::core::concat!("rejected by `", #name, "`")),
                    );
                }
            });
        }
        reads.push(read);
        validators.push(match &args.with {
            Some(validator) => {
                let name = validator
                    .segments
                    .iter()
                    .map(|segment| segment.ident.to_string())
                    .collect::<Vec<_>>()
                    .join("::");
                quote! { ::core::option::Option::Some(#name) }
            }
            None => quote! { ::core::option::Option::None },
        });
        keys.push(key);
        idents.push(ident);
        types.push(ty.clone());
    }
    errors.finish()?;
    // Known keys are taken out of the object as they are read, so what is left is unknown.
    let unknown = deny_unknown_keys.then(|| {
        quote! {
            let unknown = ::yoctopus_core::__private::unknown_keys(&object, &[#(#keys),*], at, errors);
        }
    });
    let unknown_passed = if deny_unknown_keys {
        quote!(unknown?;)
    } else {
        quote!()
    };
    let validator = quote! {
        let mut object = ::yoctopus_core::__private::expect_object(value, at, errors)?;
        #(let #idents = #reads;)*
        #unknown
        #unknown_passed
        ::core::option::Option::Some(Self { #(#idents: #idents?),* })
    };
    // Each body names every field type first through `take_field`, as the validator does: a type
    // that is not a request format then fails the same bound at the same tokens in each body, and
    // rustc shows that error once, not once per body plus a `JsonSchema` error.
    let describe = quote! {
        #(let _ = ::yoctopus_core::__private::take_field::<#types>;)*
        ::yoctopus_core::__private::describe_object(&[
            #((#keys, <#types as ::yoctopus_core::__private::RequestFormat>::describe as fn() -> _)),*
        ])
    };
    let schema = quote! {
        #(let _ = ::yoctopus_core::__private::take_field::<#types>;)*
        ::yoctopus_core::__private::object_schema(::std::vec![
            #((
                #keys,
                generator.subschema_for::<#types>(),
                <#types as ::yoctopus_core::__private::RequestFormat>::OPTIONAL,
                #validators,
            )),*
        ], #deny_unknown_keys)
    };
    let locals: Vec<syn::Ident> = idents
        .iter()
        .map(|ident| format_ident!("__field_{}", ident.unraw()))
        .collect();
    let indices = 0..locals.len();
    // Through a function bounded by `RequestFormat` at the field's type, so that a type that is
    // not a request format fails the same obligation as in the validator, and is reported once.
    let next_values = types.iter().map(|ty| {
        quote! { ::yoctopus_core::__private::next_field::<#ty, A>(&mut map)? }
    });
    let key_indices = 0..locals.len();
    // The keys are matched by a `match` of the struct's own, which rustc turns into a switch on
    // the length and inline comparisons, instead of a walk over a slice of names.
    let fast = quote! {
        struct __YoctopusKey;
        impl<'de> ::yoctopus_core::__private::serde::de::DeserializeSeed<'de> for __YoctopusKey {
            type Value = ::core::option::Option<::core::primitive::usize>;

            #[inline]
            fn deserialize<D: ::yoctopus_core::__private::serde::Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> ::core::result::Result<Self::Value, D::Error> {
                deserializer.deserialize_str(self)
            }
        }
        impl<'de> ::yoctopus_core::__private::serde::de::Visitor<'de> for __YoctopusKey {
            type Value = ::core::option::Option<::core::primitive::usize>;

            fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str("a field name")
            }

            #[inline]
            fn visit_str<E: ::yoctopus_core::__private::serde::de::Error>(
                self,
                key: &::core::primitive::str,
            ) -> ::core::result::Result<Self::Value, E> {
                #[allow(unreachable_patterns)]
                let index = match key {
                    #(#keys => ::core::option::Option::Some(#key_indices),)*
                    _ => ::core::option::Option::None,
                };
                ::core::result::Result::Ok(index)
            }
        }
        struct __YoctopusVisitor;
        impl<'de> ::yoctopus_core::__private::serde::de::Visitor<'de> for __YoctopusVisitor {
            type Value = #ident;

            fn expecting(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str("an object")
            }

            fn visit_map<A: ::yoctopus_core::__private::serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> ::core::result::Result<#ident, A::Error> {
                #(let _ = ::yoctopus_core::__private::take_field::<#types>;)*
                #(let mut #locals: ::core::option::Option<#types> = ::core::option::Option::None;)*
                while let ::core::option::Option::Some(key) =
                    map.next_key_seed(__YoctopusKey)?
                {
                    match key {
                        #(::core::option::Option::Some(#indices) => {
                            if #locals.is_some() {
                                return ::core::result::Result::Err(
                                    <A::Error as ::yoctopus_core::__private::serde::de::Error>::duplicate_field(#keys),
                                );
                            }
                            #locals = ::core::option::Option::Some(#next_values);
                        })*
                        _ => {
                            if #deny_unknown_keys {
                                return ::core::result::Result::Err(
                                    <A::Error as ::yoctopus_core::__private::serde::de::Error>::custom("an unknown key"),
                                );
                            }
                            map.next_value::<::yoctopus_core::__private::serde::de::IgnoredAny>()?;
                        }
                    }
                }
                #(let #locals = match #locals {
                    ::core::option::Option::Some(value) => value,
                    ::core::option::Option::None => ::yoctopus_core::__private::missing_field::<#types, A::Error>(#keys)?,
                };)*
                #(#fast_checks)*
                ::core::result::Result::Ok(#ident { #(#idents: #locals),* })
            }
        }
        deserializer.deserialize_map(__YoctopusVisitor)
    };
    Ok((validator, "object".to_owned(), describe, schema, fast))
}

fn union(ident: &syn::Ident, data: &syn::DataEnum, style: &str) -> syn::Result<Parts> {
    let mut errors = Errors::default();
    let mut values = Vec::new();
    let mut variants = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            errors.push(syn::Error::new_spanned(
                &variant.fields,
                "a request format enum is a union of literal strings; its variants cannot carry data",
            ));
            continue;
        }
        match FormatArgs::parse(&variant.attrs, FORMAT_VARIANT_KEYS) {
            Ok(args) => {
                let value = match args.rename {
                    Some(rename) => rename.value(),
                    None => case::rename(&variant.ident.to_string(), style)
                        .expect("style checked by the caller"),
                };
                values.push(value);
                variants.push(variant.ident.clone());
            }
            Err(error) => errors.push(error),
        }
    }
    if data.variants.is_empty() {
        errors.push(syn::Error::new(
            ident.span(),
            "a request format enum needs at least one variant, e.g. `enum Status { Active, Inactive }`",
        ));
    }
    errors.finish()?;
    let expected = format!(
        "one of {}",
        values
            .iter()
            .map(|value| format!("{value:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let validator = quote! {
        if let ::yoctopus_core::__private::serde_json::Value::String(text) = &value {
            match text.as_str() {
                #(#values => return ::core::option::Option::Some(Self::#variants),)*
                _ => {}
            }
        }
        errors.push(at, ::core::format_args!(
            "expected {}, got {}",
            <Self as ::yoctopus_core::__private::RequestFormat>::EXPECTED,
            ::yoctopus_core::__private::describe_value(&value),
        ));
        ::core::option::Option::None
    };
    let describe = quote! {
        ::yoctopus_core::__private::serde_json::Value::from(::std::vec![#(#values),*])
    };
    let schema = quote! {
        ::yoctopus_core::__private::enum_schema(&[#(#values),*])
    };
    let indices = 0..variants.len();
    let fast = quote! {
        match ::yoctopus_core::__private::deserialize_literal(deserializer, &[#(#values),*])? {
            #(#indices => ::core::result::Result::Ok(Self::#variants),)*
            _ => ::core::result::Result::Err(
                <D::Error as ::yoctopus_core::__private::serde::de::Error>::custom("not one of the literals"),
            ),
        }
    };
    Ok((validator, expected, describe, schema, fast))
}

#[cfg(test)]
mod tests {
    use quote::quote;

    /// Every message of a refused derive.
    fn errors(tokens: proc_macro2::TokenStream) -> Vec<String> {
        let input = syn::parse2(tokens).expect("a type definition");
        match super::render(&input) {
            Ok(_) => panic!("the derive was accepted"),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn shapes_that_are_not_request_formats() {
        let named = super::NAMED_FIELDS;
        assert_eq!(
            errors(quote!(
                struct S(String);
            )),
            [named]
        );
        assert_eq!(
            errors(quote!(
                struct S;
            )),
            [named]
        );
        assert_eq!(
            errors(quote!(
                struct S<T> {
                    t: T,
                }
            )),
            ["`RequestFormat` cannot be derived for a generic type"]
        );
        assert_eq!(
            errors(quote!(union U { a: u8 })),
            ["`RequestFormat` is derived for structs and enums, not unions"]
        );
        assert_eq!(
            errors(quote!(enum E {})),
            ["a request format enum needs at least one variant, e.g. `enum Status { Active, Inactive }`"]
        );
        let data =
            "a request format enum is a union of literal strings; its variants cannot carry data";
        assert_eq!(
            errors(quote!(
                enum E {
                    A(u8),
                    B,
                    C { c: u8 },
                }
            )),
            [data, data]
        );
    }

    #[test]
    fn format_attributes_accept_their_keys_in_their_places() {
        let cases = [
            (
                quote!(#[format(rename_all = "Title Case")] struct S { a: u8 }),
                "unknown `rename_all` style `Title Case`; expected one of `lowercase`, `UPPERCASE`, `PascalCase`, `camelCase`, `snake_case`, `SCREAMING_SNAKE_CASE`, `kebab-case`",
            ),
            (
                quote!(#[format(rename = "s")] struct S { a: u8 }),
                "unknown `#[format]` argument `rename`; expected one of `rename_all`, `deny_unknown_keys`",
            ),
            (
                quote!(struct S { #[format(renam = "b")] a: u8 }),
                "unknown `#[format]` argument `renam`; expected one of `rename`, `with`",
            ),
            (
                quote!(enum E { #[format(with = check)] A }),
                "unknown `#[format]` argument `with`; expected `rename`",
            ),
            (
                quote!(struct S { #[format(rename = "b")] #[format(rename = "c")] a: u8 }),
                "`rename` is given twice; keep one",
            ),
            (
                quote!(struct S { #[format(rename = b)] a: u8 }),
                "`rename` takes a string literal, e.g. `rename = \"userName\"`",
            ),
            (
                quote!(#[format(rename_all = camelCase)] struct S { a: u8 }),
                "`rename_all` takes a string literal, e.g. `rename_all = \"camelCase\"`",
            ),
            (
                quote!(struct S { #[format(with = "check")] a: u8 }),
                "`with` takes the path of a validator function, unquoted, e.g. `with = not_blank`",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(errors(input.clone()), [message], "{input}");
        }
    }

    #[test]
    fn every_broken_field_is_reported_at_once() {
        assert_eq!(
            errors(quote! {
                struct S {
                    #[format(renam = "x")] a: u8,
                    b: u8,
                    #[format(with = "check")] c: u8,
                }
            })
            .len(),
            2
        );
    }
}
