//! Hands a parsed request to the generated router of its plugin.
//!
//! `plugin:endpoint` is split once; the plugin is found by a scan of the few registered plugins,
//! and the plugin's own generated `match` finds the method. Aliases are the one lookup configured
//! at run time, so they live in a small table beside the plugins.

use crate::error::ConfigError;
use crate::extract::{Need, RequestData};
use crate::plugin::{MethodDef, Plugin, PluginDef, Route};
use crate::protocol::{
    exceeds_depth, parse_in_one_pass, parse_request, read_meta_of_deep_frame, ErrorBody,
    OnePassData, ParsedRequest, ReplyHead,
};

/// The plugins of a server and their aliases.
pub(crate) struct Router {
    plugins: Box<[&'static PluginDef]>,
    aliases: Box<[Alias]>,
}

struct Alias {
    alias: String,
    plugin: &'static PluginDef,
    endpoint: &'static str,
}

/// What to do with one text frame.
pub(crate) enum Dispatch {
    /// Answer at once with this reply (the request could not be routed).
    Reply(String),
    /// Run this method's handler and answer with `head` and its outcome.
    Call {
        method: &'static MethodDef,
        head: ReplyHead,
        data: RequestData,
    },
}

impl Router {
    pub(crate) fn new(plugins: &[Plugin]) -> Result<Self, ConfigError> {
        let mut defs: Vec<&'static PluginDef> = Vec::with_capacity(plugins.len());
        for plugin in plugins {
            if defs.iter().any(|def| def.name == plugin.name()) {
                return Err(ConfigError::DuplicatePlugin(plugin.name().to_owned()));
            }
            defs.push(plugin.def());
        }
        let mut pushes: Vec<(&str, &str)> = Vec::new();
        for def in &defs {
            for push in def.pushes {
                if let Some((first, _)) = pushes.iter().find(|(_, kind)| *kind == push.kind) {
                    return Err(ConfigError::DuplicatePush {
                        kind: push.kind.to_owned(),
                        first: (*first).to_owned(),
                        second: def.name.to_owned(),
                    });
                }
                pushes.push((def.name, push.kind));
            }
        }
        let mut aliases: Vec<Alias> = Vec::new();
        for plugin in plugins {
            for (endpoint, alias) in plugin.aliases() {
                let def = plugin.def();
                let Some(known) = def.endpoints.iter().find(|known| known.name == endpoint) else {
                    return Err(ConfigError::AliasOfUnknownEndpoint {
                        plugin: def.name.to_owned(),
                        endpoint: endpoint.clone(),
                        alias: alias.clone(),
                    });
                };
                let clashes_with_full_name = alias
                    .split_once(':')
                    .is_some_and(|(plugin, _)| defs.iter().any(|def| def.name == plugin));
                if clashes_with_full_name || aliases.iter().any(|known| &known.alias == alias) {
                    return Err(ConfigError::DuplicateAlias(alias.clone()));
                }
                aliases.push(Alias {
                    alias: alias.clone(),
                    plugin: def,
                    endpoint: known.name,
                });
            }
        }
        Ok(Self {
            plugins: defs.into(),
            aliases: aliases.into(),
        })
    }

    /// The plugins, in registration order.
    pub(crate) fn plugins(&self) -> &[&'static PluginDef] {
        &self.plugins
    }

    /// Checks that every plugin's needs are met by `settings_known` and `state_known`.
    pub(crate) fn check_needs(
        &self,
        settings_known: impl Fn(std::any::TypeId) -> bool,
        state_known: impl Fn(std::any::TypeId) -> bool,
    ) -> Result<(), ConfigError> {
        for plugin in self.plugins.iter() {
            for need in plugin.needs {
                match *need {
                    Need::Nothing => {}
                    Need::Settings(settings) if !settings_known(settings.type_id()) => {
                        return Err(ConfigError::MissingPlugin {
                            plugin: plugin.name.to_owned(),
                            needs: settings.plugin_name().to_owned(),
                        })
                    }
                    Need::Settings(_) => {}
                    Need::State { type_id, type_name } if !state_known(type_id()) => {
                        return Err(ConfigError::MissingState {
                            plugin: plugin.name.to_owned(),
                            type_name: type_name(),
                        })
                    }
                    Need::State { .. } => {}
                }
            }
        }
        Ok(())
    }

    /// The name clients use for an endpoint: its alias where it has one.
    pub(crate) fn public_name(&self, plugin: &PluginDef, endpoint: &str) -> String {
        self.aliases
            .iter()
            .find(|alias| std::ptr::eq(alias.plugin, plugin) && alias.endpoint == endpoint)
            .map_or_else(
                || format!("{}:{endpoint}", plugin.name),
                |alias| alias.alias.clone(),
            )
    }

    fn resolve(&self, endpoint: &str, method: &str) -> Result<&'static MethodDef, ErrorBody> {
        let target = self
            .aliases
            .iter()
            .find(|alias| alias.alias == endpoint)
            .map(|alias| (alias.plugin, alias.endpoint))
            .or_else(|| {
                let (plugin, name) = endpoint.split_once(':')?;
                let plugin = self.plugins.iter().find(|def| def.name == plugin)?;
                Some((*plugin, name))
            });
        let unknown_endpoint = || ErrorBody::Message(format!("unknown endpoint `{endpoint}`"));
        let Some((plugin, name)) = target else {
            return Err(unknown_endpoint());
        };
        match (plugin.route)(name, method) {
            Route::Found(method) => Ok(method),
            Route::UnknownEndpoint => Err(unknown_endpoint()),
            Route::UnknownMethod => Err(ErrorBody::Message(format!(
                "endpoint `{endpoint}` has no method `{method}`"
            ))),
        }
    }

    /// Reads one text frame and decides what answers it. With `typed_reading` off (a request
    /// listener reads `data`), `data` stays text until the handler asks for it.
    pub(crate) fn dispatch(&self, text: &str, max_depth: usize, typed_reading: bool) -> Dispatch {
        if exceeds_depth(text.as_bytes(), max_depth) {
            let error = ErrorBody::Message(format!(
                "invalid message: nested deeper than {max_depth} levels"
            ));
            let head = read_meta_of_deep_frame(text, max_depth);
            return Dispatch::Reply(head.render_error(&error));
        }
        let route = |endpoint: &str, method: &str| self.resolve(endpoint, method);
        let reader = |route: &Result<&'static MethodDef, ErrorBody>| {
            route
                .as_ref()
                .ok()
                .and_then(|method| method.read)
                .filter(|_| typed_reading)
        };
        if let Some(request) = parse_in_one_pass(text, route, reader) {
            return match request.route {
                Ok(method) => Dispatch::Call {
                    method,
                    head: request.head,
                    data: match request.data {
                        OnePassData::Read(read) => RequestData::Read(read),
                        OnePassData::Text(raw) => RequestData::Text(raw.to_owned()),
                    },
                },
                Err(error) => Dispatch::Reply(request.head.render_error(&error)),
            };
        }
        match parse_request(text) {
            ParsedRequest::Invalid { head, error } => Dispatch::Reply(head.render_error(&error)),
            ParsedRequest::Request {
                head,
                endpoint,
                method,
                data,
            } => match self.resolve(&endpoint, &method) {
                Ok(method) => Dispatch::Call {
                    method,
                    head,
                    data: RequestData::Text(data.to_owned()),
                },
                Err(error) => Dispatch::Reply(head.render_error(&error)),
            },
        }
    }
}
