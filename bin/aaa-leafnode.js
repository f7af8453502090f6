#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript under build/ (npm run build).
import("../build/src/cli/main.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND") {
    console.error("aaa-leafnode: not built yet; run `npm ci && npm run build` in the package directory");
    process.exit(2);
  }
  throw err;
});
