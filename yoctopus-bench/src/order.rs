//! The nested request format of `bench:order` `create`, defined once so that the server
//! (`bench-yoctopus`) and the micro-benchmark of its reader (`bench-validation`) read requests
//! with the same generated code.
//!
//! Twenty fields in all, counted as the format declares them (an array's element format once):
//! eight in [`Order`], five in [`Customer`], four in [`Address`] and three in [`Item`]. The load
//! generator's request (see [`crate::request`]) has two items, so reading it takes 23 key and value
//! pairs.

use yoctopus_core::prelude::*;

/// An order: twenty fields in all, across nested objects, an array of objects, a union of
/// literals, an email, numbers, booleans and an optional field.
#[derive(RequestFormat)]
pub struct Order {
    /// The order's id.
    pub id: String,
    /// Who ordered.
    pub customer: Customer,
    /// Where the order stands.
    pub status: Status,
    /// What was ordered.
    pub items: Vec<Item>,
    /// A note for the courier.
    pub note: Option<String>,
    /// The total price.
    pub total: f64,
    /// The currency of the prices.
    pub currency: String,
    /// Whether to wrap it.
    pub gift: bool,
}

/// Who ordered.
#[derive(RequestFormat)]
pub struct Customer {
    /// Their name.
    pub name: String,
    /// Their email.
    pub email: Email,
    /// Their age in years.
    pub age: u32,
    /// Whether they are a valued customer.
    pub vip: bool,
    /// Where to deliver.
    pub address: Address,
}

/// A postal address.
#[derive(RequestFormat)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// City.
    pub city: String,
    /// Postal code.
    pub zip: String,
    /// Country code.
    pub country: String,
}

/// A union of literal values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, RequestFormat)]
pub enum Status {
    /// `"pending"`
    Pending,
    /// `"paid"`
    Paid,
    /// `"shipped"`
    Shipped,
}

/// One line of an order.
#[derive(RequestFormat)]
pub struct Item {
    /// The article.
    pub sku: String,
    /// How many.
    pub quantity: u32,
    /// Price of one.
    pub price: f64,
}
