// Generated code names everything by absolute path: a plugin written next to shadowed prelude and
// primitive names (at the crate root and inside the module) still compiles.
#![allow(dead_code, non_camel_case_types, non_upper_case_globals, unused_macros)]

use yoctopus_core::prelude::*;

type Option = ();
type Result = ();
type Vec = ();
type Box = ();
struct String;
mod core {}
mod std {}
mod serde_json {}
mod schemars {}

#[plugin]
mod shadowed {
    use yoctopus_core::prelude::*;

    type Option = ();
    type Result = ();
    type Vec = ();
    type Box = ();
    const Some: () = ();
    const None: () = ();
    const Ok: () = ();
    const Err: () = ();
    struct String;
    type bool = ();
    type str = ();
    type usize = ();
    mod core {}
    mod std {}
    mod serde_json {}
    mod schemars {}
    macro_rules! vec {
        () => {};
    }
    macro_rules! format_args {
        () => {};
    }
    macro_rules! assert {
        () => {};
    }
    macro_rules! concat {
        () => {};
    }
    macro_rules! module_path {
        () => {};
    }

    #[settings]
    #[derive(Default, Clone)]
    pub struct Settings {
        pub enabled: ::core::primitive::bool,
        pub count: u32,
        pub tags: ::std::vec::Vec<::std::string::String>,
        pub user_id: ::core::option::Option<::std::string::String>,
    }

    #[derive(RequestFormat)]
    #[format(rename_all = "camelCase")]
    pub struct Request {
        pub user_name: ::std::string::String,
        pub nick: ::core::option::Option<::std::string::String>,
        pub tags: ::std::vec::Vec<::std::string::String>,
        pub kind: Kind,
        #[format(with = not_empty)]
        pub text: ::std::string::String,
    }

    #[derive(RequestFormat)]
    pub enum Kind {
        Plain,
        Fancy,
    }

    fn not_empty(text: &::std::string::String) -> ::core::primitive::bool {
        !text.is_empty()
    }

    async fn allowed(_connection: &Connection) -> ::core::primitive::bool {
        true
    }

    #[endpoint(method = "create", requires(self.enabled, !self.enabled, self.count >= 1, allowed))]
    async fn echo(
        request: Request,
        _id: ConnectionId,
        _settings: ConnectionSettings<Settings>,
    ) -> ::core::result::Result<Reply<Settings, ::std::string::String>, ::std::string::String> {
        ::core::result::Result::Ok(Reply::new(request.user_name))
    }

    #[endpoint(method = "read")]
    async fn plain() -> ::core::result::Result<(), ::std::string::String> {
        ::core::result::Result::Ok(())
    }

    #[endpoint(method = "delete")]
    async fn nothing() {}
}

fn main() {
    let _ = shadowed::plugin();
}
