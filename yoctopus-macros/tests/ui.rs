//! The rendered diagnostics of `#[plugin]`, `#[endpoint]`, `#[settings]`, `#[on]`, `#[provide]`,
//! `#[main]` and `#[derive(RequestFormat)]`: every error the macros emit has a fail case, every
//! feature a pass case. Regenerate the `.stderr` files with `TRYBUILD=overwrite` and review every diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/*/pass/*.rs");
    cases.compile_fail("tests/ui/*/fail/*.rs");
}
