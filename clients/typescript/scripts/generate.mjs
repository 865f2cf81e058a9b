#!/usr/bin/env node
// Typed bindings from a Yoctopus server's build-time schema (`docs/api/NAME.schema.json`, written
// by the `api_docs` example or `yoctopus_core::ApiDocs`): one TypeScript module with a type for
// every request, response and push `data`, the `Pushes` map and `Push` union by `type`, and
// `bind(client)`, which turns a YoctopusClient into `api.plugin.endpoint.method(data)` calls typed
// in their argument and their answer.
//
//   node scripts/generate.mjs SCHEMA.json OUT.ts [--client-import SPECIFIER]
//       one server's schema; the module imports the client from SPECIFIER
//       (default "@yoctopus/client").
//   node scripts/generate.mjs --examples [--check]
//       this repository's examples: every docs/api/*.schema.json into generated/NAME.ts,
//       importing the client from ../src/index.js. With --check nothing is written: it fails
//       when a committed module is not what the schema makes now (CI runs this).
//
// The data types come from json-schema-to-typescript. Objects are closed (no index signature)
// unless the schema says `additionalProperties`, so that a misspelled field is a type error.

import { compile } from "json-schema-to-typescript";
import { readFileSync, readdirSync, realpathSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const repositoryDir = join(packageDir, "../..");

/** Names the module declares itself; a component of the schema may not take them. */
const RESERVED_NAMES = new Set(["Api", "Endpoints", "Pushes", "Push", "bind"]);

/** The members of `Api` besides the endpoints. */
const API_MEMBERS = ["client", "on", "onAnyPush"];

class SchemaError extends Error {}

/** `name` as a JavaScript identifier: as it is when it is one, else camelCased at `-`, `.`, spaces. */
function identifier(name) {
  if (/^[A-Za-z_$][\w$]*$/.test(name)) return name;
  const words = name.split(/[^A-Za-z0-9_$]+/).filter((word) => word.length > 0);
  if (words.length === 0) throw new SchemaError(`\`${name}\` has no letters to make a name of`);
  const camel = words.map((word, index) => (index === 0 ? word : word[0].toUpperCase() + word.slice(1))).join("");
  return /^[0-9]/.test(camel) ? `_${camel}` : camel;
}

/** `name` as a type name: `yoctopus:label` → `YoctopusLabel`. */
function typeName(name) {
  const camel = identifier(name.replace(/:/g, "-"));
  return camel.replace(/^_/, "")[0].toUpperCase() + camel.replace(/^_/, "").slice(1);
}

/** A property key for TypeScript source: bare when it is an identifier, else quoted. */
function key(name) {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
}

/** A JSDoc comment of `text` at `indent`, or nothing. */
function doc(text, indent) {
  if (!text) return "";
  const lines = text.replace(/\*\//g, "*\\/").split("\n");
  return `${indent}/**\n${lines.map((line) => `${indent} *${line ? ` ${line}` : ""}`).join("\n")}\n${indent} */\n`;
}

/** Whether `schema` accepts any value, so that the data may be left out. */
function acceptsAnything(schema) {
  return schema === true || schema === undefined || (typeof schema === "object" && Object.keys(schema).length === 0);
}

/**
 * Where each request, response and push `data` gets its type: the component a lone `$ref` names,
 * `unknown` for a schema that accepts anything, or a new named component for an inline schema
 * (`YoctopusLabelUpdateRequest`), added to `components`.
 */
function typeOf(schema, nameIfInline, components) {
  if (acceptsAnything(schema)) return "unknown";
  if (schema === false) return "never";
  const ref = typeof schema.$ref === "string" && Object.keys(schema).length === 1 && schema.$ref;
  if (ref) {
    const match = /^#\/components\/schemas\/(.+)$/.exec(ref);
    if (!match || !(match[1] in components)) throw new SchemaError(`\`${ref}\` names no component`);
    return match[1];
  }
  if (nameIfInline in components) throw new SchemaError(`a component is already named \`${nameIfInline}\``);
  components[nameIfInline] = schema;
  return nameIfInline;
}

/** The TypeScript of every component, named by its key, with the schema's descriptions as JSDoc. */
async function componentTypes(components) {
  const names = Object.keys(components).sort();
  for (const name of names) {
    if (!/^[A-Za-z_$][\w$]*$/.test(name)) throw new SchemaError(`component \`${name}\` is not a TypeScript name`);
    if (RESERVED_NAMES.has(name)) throw new SchemaError(`component \`${name}\` clashes with a name the bindings declare`);
  }
  if (names.length === 0) return "";
  const titled = Object.fromEntries(names.map((name) => [name, { ...structuredClone(components[name]), title: name }]));
  const root = {
    title: "BindingsRoot",
    type: "object",
    properties: Object.fromEntries(names.map((name) => [name, { $ref: `#/components/schemas/${name}` }])),
    required: names,
    additionalProperties: false,
    components: { schemas: titled },
  };
  const source = await compile(root, "BindingsRoot", {
    bannerComment: "",
    additionalProperties: false,
    strictIndexSignatures: true,
    format: true,
    style: { printWidth: 100 },
  });
  // The root only makes every component reachable; the module does not need it.
  const withoutRoot = source.replace(/export interface BindingsRoot \{\n(?:.*\n)*?\}\n/, "");
  if (withoutRoot === source) throw new Error("json-schema-to-typescript wrote no BindingsRoot to take out");
  return withoutRoot.trim() + "\n";
}

/** `api.plugin.endpoint.method(...)` for every endpoint: a tree of the names clients use. */
function endpointTree(endpoints) {
  const tree = new Map();
  const place = (path, leaf) => {
    let node = tree;
    for (const [index, segment] of path.entries()) {
      const last = index === path.length - 1;
      const existing = node.get(segment);
      if (last) {
        if (existing) throw new SchemaError(`\`${path.join(".")}\` is both an endpoint and a group of endpoints`);
        node.set(segment, leaf);
      } else {
        if (existing && !(existing instanceof Map)) throw new SchemaError(`\`${path.join(".")}\` is both an endpoint and a group of endpoints`);
        if (!existing) node.set(segment, new Map());
        node = node.get(segment);
      }
    }
  };
  for (const endpoint of endpoints) place(endpoint.name.split(":").map(identifier), endpoint);
  return tree;
}

/** The `Api` interface's members for `node` (a group or an endpoint), at `indent`. */
function apiMembers(node, indent) {
  const lines = [];
  for (const [segment, child] of node) {
    if (child instanceof Map) {
      lines.push(`${indent}readonly ${key(segment)}: {\n${apiMembers(child, indent + "  ")}${indent}};`);
    } else {
      const methods = child.methods
        .map((method) => {
          const data = method.optional ? `data?: ${method.request}` : `data: ${method.request}`;
          const description = [method.description ?? `\`${child.name}\` \`${method.name}\`.`, ...method.requirements].join("\n\n");
          return `${doc(description, indent + "  ")}${indent}  ${key(method.identifier)}(${data}, options?: RequestOptions): Promise<${method.response}>;`;
        })
        .join("\n");
      lines.push(`${indent}readonly ${key(segment)}: {\n${methods}\n${indent}};`);
    }
  }
  return lines.join("\n") + "\n";
}

/** The object `bind` returns for `node`, at `indent`. */
function apiObject(node, indent) {
  const lines = [];
  for (const [segment, child] of node) {
    if (child instanceof Map) {
      lines.push(`${indent}${key(segment)}: {\n${apiObject(child, indent + "  ")}${indent}},`);
    } else {
      const methods = child.methods
        .map((method) => `${indent}  ${key(method.identifier)}: call(${JSON.stringify(child.name)}, ${JSON.stringify(method.name)}),`)
        .join("\n");
      lines.push(`${indent}${key(segment)}: {\n${methods}\n${indent}},`);
    }
  }
  return lines.join("\n") + "\n";
}

/** The TypeScript module for one server's schema document. */
export async function generate(schema, { clientImport, source }) {
  if (typeof schema !== "object" || schema === null || typeof schema.endpoints !== "object") {
    throw new SchemaError("not a Yoctopus API schema (no `endpoints`)");
  }
  const components = { ...(schema.components?.schemas ?? {}) };
  const endpoints = Object.keys(schema.endpoints)
    .sort()
    .map((name) => ({
      name,
      methods: Object.keys(schema.endpoints[name])
        .sort()
        .map((methodName) => {
          const method = schema.endpoints[name][methodName];
          const base = typeName(name) + typeName(methodName);
          return {
            name: methodName,
            identifier: identifier(methodName),
            description: method.description,
            requirements: (method.requirements ?? []).map((requirement) => `Requires \`${requirement}\`.`),
            optional: acceptsAnything(method.request),
            request: typeOf(method.request, `${base}Request`, components),
            response: typeOf(method.response, `${base}Response`, components),
          };
        }),
    }));
  const pushes = Object.keys(schema.pushes ?? {})
    .sort()
    .map((type) => ({
      type,
      description: schema.pushes[type].description,
      data: typeOf(schema.pushes[type].data, `${typeName(type)}Push`, components),
    }));
  const tree = endpointTree(endpoints);
  for (const taken of API_MEMBERS) {
    if (tree.has(taken)) throw new SchemaError(`\`${taken}\` is a name of the bindings' own, not free for a plugin or an alias`);
  }
  const types = await componentTypes(components);

  const endpointsType = endpoints
    .map(
      (endpoint) =>
        `  ${JSON.stringify(endpoint.name)}: {\n${endpoint.methods
          .map((method) => `    ${key(method.name)}: { request: ${method.request}; response: ${method.response} };`)
          .join("\n")}\n  };`,
    )
    .join("\n");
  const pushesType = pushes.map((push) => `${doc(push.description, "  ")}  ${key(push.type)}: ${push.data};`).join("\n");

  return `// Generated by clients/typescript/scripts/generate.mjs from ${source}: do not edit.
// ${schema.title ?? "A Yoctopus server"}: typed bindings for YoctopusClient.

import type { Push as AnyPush, RequestOptions, YoctopusClient } from ${JSON.stringify(clientImport)};

${types}
/** Each endpoint (by the name clients use) and method: the \`data\` of its request and of its answer. */
export interface Endpoints {
${endpointsType}
}

/** The \`data\` of each push, by \`type\`. */
export interface Pushes {
${pushesType}
}

/** A push of this server: a union by \`type\`, each with its own \`data\`. */
export type Push = {
  [K in keyof Pushes]: { readonly type: K; readonly method: string; readonly data: Pushes[K] };
}[keyof Pushes];

/** The server's API on a YoctopusClient: \`api.plugin.endpoint.method(data)\` for every endpoint. */
export interface Api {
  /** The client underneath, for its state, reconnect hooks and \`close()\`. */
  readonly client: YoctopusClient;
  /** Calls \`handler\` with the data of every push of \`type\`; returns the function that unregisters it. */
  on<K extends keyof Pushes>(type: K, handler: (data: Pushes[K], push: Extract<Push, { type: K }>) => void): () => void;
  /** Calls \`handler\` with every push; returns the function that unregisters it. */
  onAnyPush(handler: (push: Push) => void): () => void;
${apiMembers(tree, "  ")}}

/** The typed API of \`client\`: each method sends its request and resolves with the answer's \`data\`. */
export function bind(client: YoctopusClient): Api {
  // Each method is one request; the types above are what the schema promises of its data.
  const call =
    (endpoint: string, method: string) =>
    (data?: unknown, options?: RequestOptions): Promise<never> =>
      client.request<never>(endpoint, method, data, options);
  return {
    client,
    on: (type, handler) => client.on(type, handler as (data: unknown, push: AnyPush) => void),
    onAnyPush: (handler) => client.onAnyPush(handler as (push: AnyPush) => void),
${apiObject(tree, "    ")}  };
}
`;
}

/** Each example's schema and the module made of it. */
function exampleTargets() {
  const docsDir = join(repositoryDir, "docs/api");
  return readdirSync(docsDir)
    .filter((file) => file.endsWith(".schema.json"))
    .sort()
    .map((file) => ({
      schemaPath: join(docsDir, file),
      outPath: join(packageDir, "generated", `${basename(file, ".schema.json")}.ts`),
    }));
}

async function render(schemaPath, clientImport) {
  let schema;
  try {
    schema = JSON.parse(readFileSync(schemaPath, "utf8"));
  } catch (error) {
    throw new SchemaError(`${schemaPath}: ${error.message}`);
  }
  const source = relative(repositoryDir, schemaPath).startsWith("..") ? basename(schemaPath) : relative(repositoryDir, schemaPath);
  try {
    return await generate(schema, { clientImport, source });
  } catch (error) {
    if (error instanceof SchemaError) throw new SchemaError(`${schemaPath}: ${error.message}`);
    throw error;
  }
}

async function main(args) {
  if (args[0] === "--examples") {
    const check = args.includes("--check");
    const stale = [];
    for (const { schemaPath, outPath } of exampleTargets()) {
      const module = await render(schemaPath, "../src/index.js");
      let committed;
      try {
        committed = readFileSync(outPath, "utf8");
      } catch {
        committed = undefined;
      }
      if (committed === module) continue;
      if (check) stale.push(relative(packageDir, outPath));
      else {
        writeFileSync(outPath, module);
        console.log(`wrote ${relative(packageDir, outPath)}`);
      }
    }
    if (stale.length > 0) {
      console.error(`out of date with docs/api/: ${stale.join(", ")}\nRun \`npm run bindings\` in clients/typescript and commit generated/.`);
      process.exitCode = 1;
    } else if (check) console.log("generated/ is up to date with docs/api/.");
    return;
  }
  const positional = args.filter((arg, index) => !arg.startsWith("--") && args[index - 1] !== "--client-import");
  const importIndex = args.indexOf("--client-import");
  const clientImport = importIndex >= 0 ? args[importIndex + 1] : "@yoctopus/client";
  if (positional.length !== 2 || !clientImport) {
    console.error("usage: generate.mjs SCHEMA.json OUT.ts [--client-import SPECIFIER]\n       generate.mjs --examples [--check]");
    process.exitCode = 2;
    return;
  }
  writeFileSync(positional[1], await render(positional[0], clientImport));
  console.log(`wrote ${positional[1]}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error instanceof SchemaError ? `generate.mjs: ${error.message}` : error);
    process.exitCode = 1;
  });
}
