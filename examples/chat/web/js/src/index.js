// The package's entry point: everything a user of the client needs, and nothing internal.
export { YoctopusClient } from "./client.js";
export { DisconnectedError, RequestError, TimeoutError, YoctopusError } from "./errors.js";
