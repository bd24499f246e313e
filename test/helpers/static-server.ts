// The static file server of the browser tests: the demo's own (examples/browser/server.mjs), on
// 127.0.0.1 with optional COOP/COEP headers.
export { serve } from "../../examples/browser/server.mjs";
