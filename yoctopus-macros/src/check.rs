//! Rules that span several items of a plugin.

use crate::errors::Errors;
use crate::model::Endpoint;

/// Each `(endpoint, method)` pair is defined once; a clash is reported on the second definition,
/// with the first marked too.
pub(crate) fn unique_endpoints(endpoints: &[Endpoint]) -> syn::Result<()> {
    let mut errors = Errors::default();
    for (index, endpoint) in endpoints.iter().enumerate() {
        let first = endpoints[..index]
            .iter()
            .find(|earlier| earlier.name == endpoint.name && earlier.method == endpoint.method);
        if let Some(first) = first {
            errors.push(syn::Error::new(
                endpoint.method_span,
                format!(
                    "duplicate endpoint `{}` with method `{}`; each endpoint and method pair is defined once",
                    endpoint.name, endpoint.method
                ),
            ));
            errors.push(syn::Error::new(first.method_span, "first defined here"));
        }
    }
    errors.finish()
}
