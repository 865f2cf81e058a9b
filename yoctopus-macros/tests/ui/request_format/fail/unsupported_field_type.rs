// A field's type cannot be validated as a request format; the caret sits on the type.
use yoctopus_core::prelude::*;

#[derive(RequestFormat)]
pub struct Connect {
    pub host: String,
    pub stream: std::net::TcpStream,
}

fn main() {}
