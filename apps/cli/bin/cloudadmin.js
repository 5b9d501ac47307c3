#!/usr/bin/env node
// Committed launcher: npm links bins at install time, before dist/ is built, so the linked file
// must exist (and be executable) in the repository itself.
await import("../dist/bin.js");
